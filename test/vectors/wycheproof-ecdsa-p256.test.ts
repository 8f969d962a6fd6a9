/**
 * Wycheproof ECDSA P-256 / SHA-256 with IEEE P1363 signatures
 * (testvectors_v1/ecdsa_secp256r1_sha256_p1363_test.json): every case through ES256, via the same
 * `verifyParsed` path a compact JWS takes (exactly 64 bytes r||s, then verify).
 *
 * The descriptor (`ALGORITHMS.ES256.verify`, plain ECDSA plus the exact-length rule) must match the file
 * exactly: every `valid` case verifies, high-s ones included, and every `invalid` case is refused. That is
 * what external signatures (DPoP proofs, client assertions with `canonical: false`) get.
 *
 * Documented stricter rejections through `verifyParsed` (canonical by default, as for every token Warrant
 * issues): Warrant requires low-s (s <= floor(n / 2)) so that each signature has one encoding and the token
 * hash is a stable identifier; ECDSA itself also accepts (r, n - s), and Wycheproof marks such cases
 * `valid`. Every `valid` case whose s > n / 2 (decided from the signature itself) must be rejected with
 * WARRANT_JWS_SIGNATURE_INVALID for exactly that reason, accepted with `canonical: false`, and its low-s twin
 * must verify under the same key, so nothing else is wrong with it. Their count is pinned (70 of 173) so a
 * change is noticed.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import { isWarrantError } from '../../src/core/errors.ts';
import { importPublicJwk, type VerificationKey } from '../../src/core/jose/jwk.ts';
import {
  HIGH_S_REASON,
  isHighSP256,
  twinP256,
  verdictOfDescriptor,
  verdictOfVerifyParsed,
} from './signature-verdict.ts';
import { emptyTally, readVectorJson, type WycheproofCase, type WycheproofFile } from './vectors-dir.ts';

interface EcdsaCase extends WycheproofCase {
  readonly msg: string;
  readonly sig: string;
}

interface EcdsaGroup {
  readonly type: string;
  readonly sha: string;
  readonly publicKey: { readonly curve: string; readonly uncompressed: string };
  readonly publicKeyJwk?: {
    readonly kty: string;
    readonly crv: string;
    readonly x: string;
    readonly y: string;
  };
  readonly tests: readonly EcdsaCase[];
}

const file = readVectorJson<WycheproofFile<EcdsaGroup>>('wycheproof/ecdsa_secp256r1_sha256_p1363_test.json');

/** The JWK form of an uncompressed SEC1 point (0x04 || X || Y); anything else is not importable. */
function jwkFromUncompressed(hex: string): Record<string, unknown> {
  const point = Buffer.from(hex, 'hex');
  if (point.length !== 65 || point[0] !== 0x04) return { kty: 'EC', crv: 'P-256' };
  return {
    kty: 'EC',
    crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  };
}

function importGroupKey(group: EcdsaGroup): VerificationKey | undefined {
  const fromPoint = jwkFromUncompressed(group.publicKey.uncompressed);
  try {
    const key = importPublicJwk(group.publicKeyJwk ?? fromPoint, 'ES256');
    // When both forms are given they must name the same key.
    if (group.publicKeyJwk)
      assert.equal(importPublicJwk(fromPoint, 'ES256').kid, key.kid, 'JWK and point disagree');
    return key;
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    return undefined;
  }
}

test('wycheproof ecdsa p-256 p1363: every case is classified as the file says', () => {
  const tally = emptyTally();
  const acceptableOutcomes: string[] = [];
  const failures: string[] = [];
  const stricter: Array<{ tcId: number; reason: string }> = [];
  let checked = 0;
  let groupsFromJwk = 0;

  for (const group of file.testGroups) {
    assert.equal(group.type, 'EcdsaP1363Verify');
    assert.equal(group.publicKey.curve, 'secp256r1');
    assert.equal(group.sha, 'SHA-256');
    if (group.publicKeyJwk) groupsFromJwk++;
    const key = importGroupKey(group);
    for (const tc of group.tests) {
      checked++;
      tally[tc.result]++;
      const msg = Buffer.from(tc.msg, 'hex');
      const sig = Buffer.from(tc.sig, 'hex');
      // A group whose key does not import rejects all its cases.
      const viaParsed = key ? verdictOfVerifyParsed(key, msg, sig) : 'WARRANT_KEY_INVALID';
      const viaDescriptor = key ? verdictOfDescriptor('ES256', key, msg, sig) : false;
      const viaNonCanonical = key
        ? verdictOfVerifyParsed(key, msg, sig, { canonical: false })
        : 'WARRANT_KEY_INVALID';
      const accepted = viaParsed === true;
      const highS = isHighSP256(sig);
      // The descriptor is plain ECDSA: its verdict is exactly the file's.
      if (viaDescriptor !== (tc.result === 'valid'))
        failures.push(
          `tcId ${tc.tcId} (${tc.comment}): descriptor says ${viaDescriptor}, file says ${tc.result}`,
        );
      // verifyParsed with canonical: false is the descriptor; by default it also refuses high-s.
      if ((viaNonCanonical === true) !== viaDescriptor)
        failures.push(`tcId ${tc.tcId}: verifyParsed(canonical: false) and the descriptor disagree`);
      if (accepted !== (viaDescriptor && !highS))
        failures.push(`tcId ${tc.tcId}: verifyParsed and descriptor-plus-low-s disagree`);
      if (!accepted && key && viaParsed !== 'WARRANT_JWS_SIGNATURE_INVALID') {
        failures.push(`tcId ${tc.tcId}: rejected with ${viaParsed}, expected WARRANT_JWS_SIGNATURE_INVALID`);
      }
      if (tc.result === 'valid' && accepted && highS)
        failures.push(`tcId ${tc.tcId} (${tc.comment}): high-s but accepted`);
      if (tc.result === 'valid' && !accepted) {
        // Only the low-s rule may refuse a valid case, and then the low-s twin must verify.
        const lowSTwinAccepted =
          highS && key !== undefined && verdictOfVerifyParsed(key, msg, twinP256(sig)) === true;
        if (
          highS &&
          viaParsed === 'WARRANT_JWS_SIGNATURE_INVALID' &&
          viaNonCanonical === true &&
          lowSTwinAccepted
        )
          stricter.push({ tcId: tc.tcId, reason: HIGH_S_REASON });
        else failures.push(`tcId ${tc.tcId} (${tc.comment}): valid but rejected`);
      }
      if (tc.result === 'invalid' && accepted)
        failures.push(`tcId ${tc.tcId} (${tc.comment}): invalid but accepted`);
      if (tc.result === 'acceptable')
        acceptableOutcomes.push(`tcId ${tc.tcId}: ${accepted ? 'accepted' : 'rejected'}`);
    }
  }

  assert.deepEqual(failures, []);
  assert.equal(checked, file.numberOfTests);
  assert.equal(checked, tally.valid + tally.invalid + tally.acceptable);
  // Pinned to the vendored commit (see SOURCES.md): a changed file must be re-reviewed.
  assert.deepEqual(tally, { valid: 173, invalid: 89, acceptable: 0 });
  assert.deepEqual(acceptableOutcomes, []);
  // Documented stricter rejections: the high-s valid cases, all for the one reason. Pinned count: a changed
  // file or a changed rule must be re-reviewed.
  for (const s of stricter) assert.equal(s.reason, HIGH_S_REASON);
  assert.equal(stricter.length, 70);
  // 103 of 112 groups carry a JWK; the other 9 are imported from the uncompressed point.
  assert.equal(groupsFromJwk, 103);
});

test('wycheproof ecdsa p-256 p1363: DER signatures and off-by-one lengths are refused by the length rule', () => {
  const group = file.testGroups[0];
  const key = importGroupKey(group);
  assert.ok(key);
  const tc = group.tests.find((t) => t.result === 'valid');
  assert.ok(tc);
  const msg = Buffer.from(tc.msg, 'hex');
  const sig = Buffer.from(tc.sig, 'hex');
  assert.equal(verdictOfVerifyParsed(key, msg, sig), true);
  const flipped = Buffer.from(sig);
  flipped[63] ^= 1;
  assert.equal(verdictOfVerifyParsed(key, msg, flipped), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(verdictOfVerifyParsed(key, msg, sig.subarray(0, 63)), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(
    verdictOfVerifyParsed(key, msg, Buffer.concat([Buffer.alloc(1), sig])),
    'WARRANT_JWS_SIGNATURE_INVALID',
  );
});
