/**
 * Wycheproof Ed25519 (testvectors_v1/ed25519_test.json): every case, through the same algorithm
 * descriptor and the same `verifyParsed` path (exact 64-byte signature, then Ed25519 verify) that a
 * compact JWS takes.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import { isWarrantError } from '../../src/core/errors.ts';
import { importPublicJwk, type VerificationKey } from '../../src/core/jose/jwk.ts';
import { verdictOfDescriptor, verdictOfVerifyParsed } from './signature-verdict.ts';
import { emptyTally, readVectorJson, type WycheproofCase, type WycheproofFile } from './vectors-dir.ts';

interface EddsaCase extends WycheproofCase {
  readonly msg: string;
  readonly sig: string;
}

interface EddsaGroup {
  readonly type: string;
  readonly publicKey: { readonly curve: string; readonly pk: string };
  readonly publicKeyJwk?: {
    readonly kty: string;
    readonly crv: string;
    readonly x: string;
    readonly kid?: string;
  };
  readonly tests: readonly EddsaCase[];
}

const file = readVectorJson<WycheproofFile<EddsaGroup>>('wycheproof/ed25519_test.json');

test('wycheproof ed25519: every case is classified as the file says', () => {
  const tally = emptyTally();
  const acceptableOutcomes: string[] = [];
  const failures: string[] = [];
  let checked = 0;

  for (const group of file.testGroups) {
    assert.equal(group.type, 'EddsaVerify');
    assert.equal(group.publicKey.curve, 'edwards25519');
    let key: VerificationKey | undefined;
    try {
      key = importPublicJwk({
        kty: 'OKP',
        crv: 'Ed25519',
        x: Buffer.from(group.publicKey.pk, 'hex').toString('base64url'),
      });
    } catch (error) {
      if (!isWarrantError(error)) throw error;
      key = undefined;
    }
    if (key && group.publicKeyJwk) {
      // The group's JWK must name the same key (its `kid: "none"` is ignored: our kid is the thumbprint).
      assert.equal(importPublicJwk(group.publicKeyJwk).kid, key.kid, 'publicKeyJwk and pk disagree');
    }
    for (const tc of group.tests) {
      checked++;
      tally[tc.result]++;
      const msg = Buffer.from(tc.msg, 'hex');
      const sig = Buffer.from(tc.sig, 'hex');
      // A group whose key does not import rejects all its cases.
      const viaParsed = key ? verdictOfVerifyParsed(key, msg, sig) : 'WARRANT_KEY_INVALID';
      const viaDescriptor = key ? verdictOfDescriptor('EdDSA', key, msg, sig) : false;
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
  assert.deepEqual(tally, { valid: 88, invalid: 63, acceptable: 0 });
  assert.deepEqual(acceptableOutcomes, []);
});

test('wycheproof ed25519: the vectors reach both outcomes (the harness is not a constant)', () => {
  const group = file.testGroups[0];
  const key = importPublicJwk({
    kty: 'OKP',
    crv: 'Ed25519',
    x: Buffer.from(group.publicKey.pk, 'hex').toString('base64url'),
  });
  const tc = group.tests.find((t) => t.result === 'valid');
  assert.ok(tc, 'no valid case in the first group');
  const msg = Buffer.from(tc.msg, 'hex');
  const sig = Buffer.from(tc.sig, 'hex');
  assert.equal(verdictOfVerifyParsed(key, msg, sig), true);
  const flipped = Buffer.from(sig);
  flipped[0] ^= 1;
  assert.equal(verdictOfVerifyParsed(key, msg, flipped), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(
    verdictOfVerifyParsed(key, msg, Buffer.concat([sig, Buffer.alloc(1)])),
    'WARRANT_JWS_SIGNATURE_INVALID',
  );
});
