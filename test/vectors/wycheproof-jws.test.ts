/**
 * Wycheproof JSON Web Signature and JSON Web Key vectors (testvectors_v1/json_web_signature_test.json,
 * json_web_key_test.json), run through the strict importer and `verifyCompact`.
 *
 * Harness: each group's verification key (its `public` JWK, or the `private` one with the private members
 * removed) is imported with `importPublicJwk`. The resolver returns that key whatever the `kid` says (the
 * vectors use free-form kids such as "kid-ec-sign"; Warrant's KeySet only answers RFC 7638 thumbprints,
 * which would reject every case for the kid alone and test nothing). A key that does not import means
 * every case of the group is rejected; we still run each token through `verifyCompact` with no key and
 * require a WarrantError.
 *
 * Documented stricter rejections (cases marked `valid` that Warrant refuses). All of them have the one
 * reason 'unsupported algorithm family': Warrant signs and verifies EdDSA (Ed25519) and ES256 (P-256) only,
 * and `importPublicJwk` refuses every other key with WARRANT_KEY_INVALID (and `parseCompact` refuses any
 * other `alg` with WARRANT_JWS_ALG_NOT_ALLOWED):
 *   - HS256/HS384/HS512 (`kty: oct`): shared-secret MACs; a verifier holding the secret can forge.
 *   - RS256/RS384/RS512, PS256/PS384/PS512 (`kty: RSA`): not on the allowlist.
 *   - ES512 (`kty: EC`, `crv: P-521`, JWK `alg: "ES521"`): curve not on the allowlist.
 * The exact tcIds are pinned below (STRICTER_JWS / STRICTER_JWK), so a newly rejected valid case fails.
 *
 * One more reason applies to ES256 only: 'high-s ECDSA signature (Warrant requires low-s so each signature
 * has one encoding)'. ECDSA also accepts (r, n - s); Warrant refuses s > n / 2 so the token hash is a stable
 * identifier. It is decided from each token's own signature (P-256 group, alg ES256, 64-byte signature with
 * s > n / 2, rejected at verify with WARRANT_JWS_SIGNATURE_INVALID, accepted with `canonical: false` — the
 * plain verification external signatures get — and the low-s twin token accepted under the same key); the
 * count is pinned (1: tcId 18). No other EC/OKP case marked `valid` is rejected.
 *
 * JSON serialization (tcId 17, flag JsonSerialization) is out of scope: `parseCompact` takes compact
 * strings only, and refuses both the JSON text and the parsed object with WARRANT_JWS_MALFORMED. (The
 * upstream text of tcId 17 is itself truncated JSON: it lacks the closing `]}`.)
 *
 * tcId 354/356 (P-256 key with `use: "enc"` / `key_ops: ["encrypt"]`) must be refused at import; 356
 * needs the importer's key_ops check (key_ops, when present, must list only "sign" and/or "verify").
 *
 * json_web_key_test.json is relevant: tcIds 19-24 come with P-256-shaped keys whose JWK is wrong (alg ES521/ES224 on
 * P-256, use "enc", a point off the curve, crv P-384, kty RSA with crv P-256); the importer must refuse
 * each of them. Its other groups are oct/RSA key sets and fall under 'unsupported algorithm family'.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import { isWarrantError } from '../../src/core/errors.ts';
import { importPublicJwk, type VerificationKey } from '../../src/core/jose/jwk.ts';
import { parseCompact, type VerifyOptions, verifyCompact } from '../../src/core/jose/jws.ts';
import { HIGH_S_REASON, isHighSP256, twinP256 } from './signature-verdict.ts';
import {
  emptyTally,
  readVectorJson,
  type Tally,
  type WycheproofCase,
  type WycheproofFile,
} from './vectors-dir.ts';

type Jwk = Record<string, unknown>;

interface JwsCase extends WycheproofCase {
  readonly jws: string;
}

interface JoseGroup {
  readonly type: string;
  readonly comment: string;
  readonly private?: Jwk | { readonly keys: Jwk[] };
  readonly public?: Jwk | { readonly keys: Jwk[] };
  readonly tests: readonly JwsCase[];
}

const UNSUPPORTED_FAMILY = 'unsupported algorithm family';

/** The ES256 token's raw signature, when its header says ES256 and it has three segments; else undefined. */
function es256Signature(jws: string): Uint8Array | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8'));
    if ((header as { alg?: unknown }).alg !== 'ES256') return undefined;
  } catch {
    return undefined;
  }
  return Uint8Array.from(Buffer.from(parts[2] ?? '', 'base64url'));
}

/** The same token with its signature replaced by the (r, n - s) twin. */
function twinToken(jws: string): string {
  const [h, p, sig] = jws.split('.');
  return `${h}.${p}.${Buffer.from(twinP256(Buffer.from(sig ?? '', 'base64url'))).toString('base64url')}`;
}

/** Members that only a private or secret JWK has, removed to get the verification half. `k` stays: an
 * oct key has no public half, and importing it must fail on its family, not on a missing member. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

function verificationKeys(group: JoseGroup): Jwk[] {
  const source = group.public ?? group.private;
  assert.ok(source, `group ${group.comment} has no key`);
  const list = Array.isArray((source as { keys?: unknown }).keys)
    ? (source as { keys: Jwk[] }).keys
    : [source as Jwk];
  if (group.public) return list;
  return list.map((jwk) =>
    Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name))),
  );
}

function isSupportedFamily(jwk: Jwk): boolean {
  return (
    (jwk['kty'] === 'EC' && jwk['crv'] === 'P-256') || (jwk['kty'] === 'OKP' && jwk['crv'] === 'Ed25519')
  );
}

type Outcome = { accepted: true } | { accepted: false; stage: 'key-import' | 'verify'; code: string };

interface GroupKeys {
  readonly jwks: Jwk[];
  /** Our key for each vector JWK, or the import error code. */
  readonly imported: Array<VerificationKey | string>;
}

function importGroup(group: JoseGroup): GroupKeys {
  const jwks = verificationKeys(group);
  const imported = jwks.map((jwk) => {
    try {
      return importPublicJwk(jwk);
    } catch (error) {
      if (!isWarrantError(error)) throw error;
      assert.match(error.code, /^WARRANT_/);
      return error.code;
    }
  });
  return { jwks, imported };
}

function rejectionCode(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    assert.match(error.code, /^WARRANT_/);
    return error.code;
  }
}

/** `verifyCompact`'s verdict; `canonical` defaults to true there, as for every token Warrant issues. */
function classify(keys: GroupKeys, jws: string, verify: VerifyOptions = {}): Outcome {
  const failed = keys.imported.find((k): k is string => typeof k === 'string');
  if (failed !== undefined) {
    // Every case of a group whose key set does not import is rejected; the token on its own is, too.
    const withoutKey = rejectionCode(() => verifyCompact(jws, () => undefined, { payload: 'bytes' }));
    assert.ok(withoutKey, 'a token verified without any key');
    return { accepted: false, stage: 'key-import', code: failed };
  }
  const ours = keys.imported as VerificationKey[];
  // One key: it is the configured key, whatever the kid says. Several keys: look up the vector's own kid,
  // standing in for the application's configuration.
  const resolve = (kid: string | undefined): VerificationKey | undefined =>
    ours.length === 1 ? ours[0] : ours[keys.jwks.findIndex((jwk) => jwk['kid'] === kid)];
  const code = rejectionCode(() => verifyCompact(jws, resolve, { payload: 'bytes', ...verify }));
  return code === undefined ? { accepted: true } : { accepted: false, stage: 'verify', code };
}

interface Report {
  readonly tally: Tally;
  checked: number;
  readonly failures: string[];
  readonly stricter: Array<{ tcId: number; reason: string }>;
  readonly acceptable: string[];
  /** Every case: 'accepted', or '<stage>:<code>'. */
  readonly outcomes: Record<number, string>;
}

function run(file: WycheproofFile<JoseGroup>): Report {
  const report: Report = {
    tally: emptyTally(),
    checked: 0,
    failures: [],
    stricter: [],
    acceptable: [],
    outcomes: {},
  };
  for (const group of file.testGroups) {
    const keys = importGroup(group);
    const supported = keys.jwks.every(isSupportedFamily);
    for (const tc of group.tests) {
      report.checked++;
      report.tally[tc.result]++;
      const outcome = classify(keys, tc.jws);
      report.outcomes[tc.tcId] = outcome.accepted ? 'accepted' : `${outcome.stage}:${outcome.code}`;
      if (tc.result === 'acceptable') {
        report.acceptable.push(`tcId ${tc.tcId}: ${outcome.accepted ? 'accepted' : 'rejected'}`);
      } else if (tc.result === 'invalid' && outcome.accepted) {
        report.failures.push(`tcId ${tc.tcId} (${group.comment}/${tc.comment}): invalid but accepted`);
      } else if (tc.result === 'valid' && !outcome.accepted) {
        // Only a refused key family counts as a documented stricter rejection; anything else is a failure.
        const familyRefusal =
          !supported && outcome.stage === 'key-import' && outcome.code === 'WARRANT_KEY_INVALID';
        const signature = es256Signature(tc.jws);
        const highSRefusal =
          supported &&
          signature !== undefined &&
          isHighSP256(signature) &&
          !outcome.accepted &&
          outcome.stage === 'verify' &&
          outcome.code === 'WARRANT_JWS_SIGNATURE_INVALID' &&
          classify(keys, tc.jws, { canonical: false }).accepted &&
          classify(keys, twinToken(tc.jws)).accepted;
        if (familyRefusal) report.stricter.push({ tcId: tc.tcId, reason: UNSUPPORTED_FAMILY });
        else if (highSRefusal) report.stricter.push({ tcId: tc.tcId, reason: HIGH_S_REASON });
        else
          report.failures.push(
            `tcId ${tc.tcId} (${group.comment}/${tc.comment}): valid but rejected (${outcome.code})`,
          );
      }
    }
  }
  return report;
}

const jwsFile = readVectorJson<WycheproofFile<JoseGroup>>('wycheproof/json_web_signature_test.json');
const jwkFile = readVectorJson<WycheproofFile<JoseGroup>>('wycheproof/json_web_key_test.json');

/**
 * tcIds marked `valid` in json_web_signature_test.json that Warrant rejects, all for 'unsupported algorithm
 * family' (the key import fails with WARRANT_KEY_INVALID):
 *   HS256: 1, 348, 352, 357-359, 372, 373, 376, 377  ·  RS256: 33, 259-263, 345, 349  ·  RS384: 264-267
 *   RS512: 268-271  ·  PS256: 272-275, 287, 288  ·  PS384: 320-323, 346, 350 (the last two also under a JWK
 *   whose alg is PS256)  ·  PS512: 325-328  ·  ES512 (P-521): 347, 351
 */
const STRICTER_JWS = [
  1, 33, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 287, 288, 320,
  321, 322, 323, 325, 326, 327, 328, 345, 346, 347, 348, 349, 350, 351, 352, 357, 358, 359, 372, 373, 376,
  377,
];

/** tcIds marked `valid` in json_web_key_test.json that Warrant rejects: HS256 key set (2), RS256 (5), HS256/384/512 (13-15). */
const STRICTER_JWK = [2, 5, 13, 14, 15];

const SIG_INVALID = 'verify:WARRANT_JWS_SIGNATURE_INVALID';
const MALFORMED = 'verify:WARRANT_JWS_MALFORMED';
const KEY_INVALID = 'key-import:WARRANT_KEY_INVALID';

/** The exact outcome of every case in the P-256 groups of json_web_signature_test.json. */
const JWS_EC_OUTCOMES: Record<number, string> = {
  18: SIG_INVALID, // valid per Wycheproof, but high-s: a documented stricter rejection (HIGH_S_REASON)
  19: SIG_INVALID, // modified signature
  20: MALFORMED, // missing signature
  21: MALFORMED, // missing signature and separator
  22: SIG_INVALID, // modified payload
  23: SIG_INVALID, // missing (empty) payload
  24: MALFORMED, // missing payload and separator
  25: SIG_INVALID, // modified header (kid)
  26: MALFORMED, // missing header
  27: MALFORMED,
  28: MALFORMED,
  29: MALFORMED,
  30: MALFORMED, // empty string
  31: 'verify:WARRANT_JWS_ALG_NOT_ALLOWED', // HS256 keyed with the EC public key bytes
  32: 'verify:WARRANT_JWS_HEADER_FORBIDDEN', // attacker's embedded jwk
  354: KEY_INVALID, // EC key with use "enc"
  356: KEY_INVALID, // EC key with key_ops ["encrypt"]
  378: 'accepted',
  // 379-385: over-long (DER-ish / zero-padded / overflowing) signatures; 386-401: r or s in {0, 1, n-1, n}.
  ...Object.fromEntries(Array.from({ length: 401 - 379 + 1 }, (_, i) => [379 + i, SIG_INVALID])),
};

/** json_web_key_test.json: every P-256-shaped key that is wrong in one way must be refused at import. */
const JWK_EC_OUTCOMES: Record<number, string> = {
  1: KEY_INVALID, // EC key mixed with an HS256 key in one set: the whole set is refused
  19: KEY_INVALID, // P-256 key with alg ES521
  20: KEY_INVALID, // P-256 key with alg ES224
  21: KEY_INVALID, // use "enc"
  22: KEY_INVALID, // point not on the curve
  23: KEY_INVALID, // crv P-384 with an ES256 alg
  24: KEY_INVALID, // kty RSA with crv P-256
};

function pick(outcomes: Record<number, string>, ids: Iterable<string | number>): Record<number, string> {
  return Object.fromEntries([...ids].map((id) => [Number(id), outcomes[Number(id)] ?? 'missing']));
}

test('wycheproof json_web_signature: every case is classified as the file says', () => {
  const report = run(jwsFile);
  assert.deepEqual(report.failures, []);
  assert.equal(report.checked, jwsFile.numberOfTests);
  assert.deepEqual(report.tally, { valid: 46, invalid: 355, acceptable: 0 });
  assert.deepEqual(report.acceptable, []);
  const highS = report.stricter.filter((s) => s.reason === HIGH_S_REASON);
  const family = report.stricter.filter((s) => s.reason !== HIGH_S_REASON);
  for (const s of family) assert.equal(s.reason, 'unsupported algorithm family');
  assert.deepEqual(
    family.map((s) => s.tcId),
    STRICTER_JWS,
  );
  // Computed from each signature; the count is pinned so a change is noticed.
  assert.equal(highS.length, 1);
  assert.deepEqual(
    highS.map((s) => s.tcId),
    [18],
  );
  assert.deepEqual(pick(report.outcomes, Object.keys(JWS_EC_OUTCOMES)), JWS_EC_OUTCOMES);
  // Every case outside the P-256 groups ends at the key import.
  const others = Object.entries(report.outcomes).filter(([id]) => !(Number(id) in JWS_EC_OUTCOMES));
  assert.equal(others.length, 401 - Object.keys(JWS_EC_OUTCOMES).length);
  for (const [id, outcome] of others) assert.equal(outcome, KEY_INVALID, `tcId ${id}`);
});

test('wycheproof json_web_key: every case is classified as the file says', () => {
  const report = run(jwkFile);
  assert.deepEqual(report.failures, []);
  assert.equal(report.checked, jwkFile.numberOfTests);
  assert.deepEqual(report.tally, { valid: 5, invalid: 21, acceptable: 0 });
  assert.deepEqual(report.acceptable, []);
  for (const s of report.stricter) assert.equal(s.reason, 'unsupported algorithm family');
  assert.deepEqual(
    report.stricter.map((s) => s.tcId),
    STRICTER_JWK,
  );
  assert.deepEqual(pick(report.outcomes, Object.keys(JWK_EC_OUTCOMES)), JWK_EC_OUTCOMES);
});

test('wycheproof json_web_signature: the P-256 vector keys verify their valid tokens and refuse a tampered one', () => {
  const group = jwsFile.testGroups.find((g) => g.comment === 'es256');
  assert.ok(group);
  const keys = importGroup(group);
  const highS = group.tests.find((t) => t.tcId === 18);
  assert.ok(highS);
  // tcId 18 is high-s: refused. Its low-s twin is the one encoding Warrant accepts for that signature.
  assert.deepEqual(classify(keys, highS.jws), {
    accepted: false,
    stage: 'verify',
    code: 'WARRANT_JWS_SIGNATURE_INVALID',
  });
  // Without the canonical rule (external signers: client assertions) it is an ordinary valid signature.
  assert.deepEqual(classify(keys, highS.jws, { canonical: false }), { accepted: true });
  const valid = twinToken(highS.jws);
  assert.deepEqual(classify(keys, valid), { accepted: true });
  assert.deepEqual(classify(keys, valid, { canonical: false }), { accepted: true });
  const [h, p, sig] = valid.split('.');
  const tampered = `${h}.${p}.${sig?.startsWith('A') ? 'B' : 'A'}${sig?.slice(1)}`;
  assert.deepEqual(classify(keys, tampered), {
    accepted: false,
    stage: 'verify',
    code: 'WARRANT_JWS_SIGNATURE_INVALID',
  });
});

test('wycheproof json_web_signature: JSON serialization is refused by parseCompact', () => {
  const cases = jwsFile.testGroups
    .flatMap((g) => g.tests)
    .filter((t) => t.flags.includes('JsonSerialization'));
  assert.equal(cases.length, 1);
  for (const tc of cases) {
    assert.throws(() => parseCompact(tc.jws, { payload: 'bytes' }), { code: 'WARRANT_JWS_MALFORMED' });
    // The upstream text lacks its closing `]}`; the object it means is the same text, closed.
    assert.throws(() => JSON.parse(tc.jws), SyntaxError);
    const object: unknown = JSON.parse(`${tc.jws}]}`);
    assert.deepEqual(Object.keys(object as object), ['payload', 'signatures']);
    assert.throws(() => parseCompact(object, { payload: 'bytes' }), { code: 'WARRANT_JWS_MALFORMED' });
  }
});
