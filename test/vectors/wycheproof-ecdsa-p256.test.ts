/**
 * Wycheproof ECDSA P-256 / SHA-256 with IEEE P1363 signatures
 * (testvectors_v1/ecdsa_secp256r1_sha256_p1363_test.json): every case through ES256, via the same
 * `verifyParsed` path a compact JWS takes (exactly 64 bytes r||s, then verify).
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import { isWarrantError } from '../../src/core/errors.ts';
import { importPublicJwk, type VerificationKey } from '../../src/core/jose/jwk.ts';
import { verdictOfDescriptor, verdictOfVerifyParsed } from './signature-verdict.ts';
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
      const accepted = viaParsed === true;
      if (accepted !== viaDescriptor)
        failures.push(`tcId ${tc.tcId}: verifyParsed and the descriptor disagree`);
      if (!accepted && key && viaParsed !== 'WARRANT_JWS_SIGNATURE_INVALID') {
        failures.push(`tcId ${tc.tcId}: rejected with ${viaParsed}, expected WARRANT_JWS_SIGNATURE_INVALID`);
      }
      if (tc.result === 'valid' && !accepted)
        failures.push(`tcId ${tc.tcId} (${tc.comment}): valid but rejected`);
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
