/**
 * The classic JWT/JWS attacks against the JOSE core, each asserting the exact error code.
 *
 * Trust is one KeySet with an Ed25519 and an ES256 key. Every forged token that could verify if one rule
 * were missing is built so that only that rule stands in its way: where possible it is signed (or re-signed
 * over its exact, mutated ASCII) with a trusted key, so the signature itself would pass.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHash, createHmac, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { test } from 'node:test';
import { isWarrantError } from '../../src/core/errors.ts';
import { ALGORITHMS } from '../../src/core/jose/algorithms.ts';
import { encode } from '../../src/core/jose/base64url.ts';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import {
  type ParseOptions,
  signCompact,
  type VerifyOptions,
  verifyCompact,
} from '../../src/core/jose/jws.ts';
import { KeySet } from '../../src/core/jose/key-set.ts';

const ed = generateSigningKey('EdDSA');
const es = generateSigningKey('ES256');
const attacker = generateSigningKey('EdDSA');
const trusted = new KeySet([ed, es]);

const claims = {
  iss: 'https://issuer.example',
  sub: 'agent-1',
  iat: 1_900_000_000,
  exp: 1_900_000_300,
  jti: 'j-1',
};
const claimsJson = JSON.stringify(claims);

/** 'accepted', or the WarrantError code; anything else thrown fails the test. */
function outcome(token: unknown, options?: ParseOptions & VerifyOptions): string {
  try {
    verifyCompact(token, trusted.resolve, options);
    return 'accepted';
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    return error.code;
  }
}

/** Signs the exact segment strings given (they may be non-canonical on purpose). */
function signSegments(key: SigningKey, headerB64: string, payloadB64: string): string {
  const input = `${headerB64}.${payloadB64}`;
  return `${input}.${encode(ALGORITHMS[key.alg].sign(key.privateKey, Buffer.from(input, 'latin1')))}`;
}

/** Signs raw header and payload JSON text (duplicates and member order exactly as written). */
function signJson(key: SigningKey, headerJson: string, payloadJson: string = claimsJson): string {
  return signSegments(key, encode(headerJson), encode(payloadJson));
}

const header = (extra: Record<string, unknown>, key: SigningKey = ed) =>
  JSON.stringify({ alg: key.alg, kid: key.kid, ...extra });

const validEd = signCompact({ typ: 'JWT' }, claims, ed);
const validEs = signCompact({ typ: 'JWT' }, claims, es);

function segments(token: string): [string, string, string] {
  const parts = token.split('.');
  assert.equal(parts.length, 3);
  return parts as [string, string, string];
}

test('baseline: both trusted keys verify their own tokens through the KeySet', () => {
  assert.equal(outcome(validEd), 'accepted');
  assert.equal(outcome(validEs), 'accepted');
  assert.equal(outcome(signJson(ed, header({}))), 'accepted');
  assert.equal(outcome(signJson(es, header({}, es))), 'accepted');
  // The attacker's key is not trusted.
  assert.equal(outcome(signJson(attacker, header({}, attacker))), 'WARRANT_KEY_UNKNOWN');
});

test('alg none in every casing, with an empty signature: malformed', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const token = `${encode(JSON.stringify({ alg, kid: ed.kid }))}.${encode(claimsJson)}.`;
    assert.equal(outcome(token), 'WARRANT_JWS_MALFORMED', alg);
    assert.equal(
      outcome(`${encode(JSON.stringify({ alg }))}.${encode(claimsJson)}.`),
      'WARRANT_JWS_MALFORMED',
      alg,
    );
  }
});

test('alg none in every casing, with a signature: alg not allowed', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    // Signed by the trusted Ed25519 key over the exact input, so only the alg check refuses it.
    assert.equal(outcome(signJson(ed, header({ alg }))), 'WARRANT_JWS_ALG_NOT_ALLOWED', alg);
    assert.equal(outcome(signJson(ed, JSON.stringify({ alg }))), 'WARRANT_JWS_ALG_NOT_ALLOWED', alg);
  }
});

test('other algorithm names are not allowed, and a missing or non-string alg is malformed', () => {
  for (const alg of ['eddsa', 'EDDSA', 'EdDSA ', 'es256', 'ES256K', 'ES384', 'HS256', 'RS256', 'PS256', '']) {
    assert.equal(outcome(signJson(ed, header({ alg }))), 'WARRANT_JWS_ALG_NOT_ALLOWED', JSON.stringify(alg));
  }
  // RFC 9864's fully-specified `Ed25519` names the same algorithm as `EdDSA` on an Ed25519 key (current
  // OAuth clients sign with it), and nothing else.
  assert.equal(outcome(signJson(ed, header({ alg: 'Ed25519' }))), 'accepted');
  assert.equal(outcome(signJson(es, header({ alg: 'Ed25519' }, es))), 'WARRANT_JWS_ALG_NOT_ALLOWED');
  assert.equal(outcome(signJson(ed, JSON.stringify({ kid: ed.kid }))), 'WARRANT_JWS_MALFORMED');
  for (const alg of [null, ['EdDSA'], { EdDSA: true }, 1]) {
    assert.equal(outcome(signJson(ed, header({ alg }))), 'WARRANT_JWS_MALFORMED', JSON.stringify(alg));
  }
});

test('an empty signature segment is malformed', () => {
  const [h, p] = segments(validEd);
  assert.equal(outcome(`${h}.${p}.`), 'WARRANT_JWS_MALFORMED');
  const [hs, ps] = segments(validEs);
  assert.equal(outcome(`${hs}.${ps}.`), 'WARRANT_JWS_MALFORMED');
});

test('HS256 keyed with the public key bytes (raw, JWK JSON, PEM, DER) is not allowed', () => {
  const secrets: Array<[string, SigningKey, Uint8Array | string]> = [];
  for (const key of [ed, es]) {
    const jwk = key.jwk;
    const raw =
      jwk.kty === 'OKP'
        ? Buffer.from(jwk.x, 'base64url')
        : Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    secrets.push(
      [`${key.alg} raw`, key, raw],
      [`${key.alg} jwk json`, key, JSON.stringify(jwk)],
      [`${key.alg} pem`, key, key.keyObject.export({ type: 'spki', format: 'pem' }).toString()],
      [`${key.alg} der`, key, key.keyObject.export({ type: 'spki', format: 'der' })],
    );
  }
  for (const [label, key, secret] of secrets) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const input = `${encode(JSON.stringify({ alg, kid: key.kid }))}.${encode(claimsJson)}`;
      const mac = createHmac(`sha${alg.slice(2)}`, secret)
        .update(input)
        .digest();
      assert.equal(outcome(`${input}.${encode(mac)}`), 'WARRANT_JWS_ALG_NOT_ALLOWED', `${alg} ${label}`);
    }
  }
});

test('an ES256 header on the Ed25519 kid, and EdDSA on the ES256 kid, are not allowed', () => {
  // Each signature is valid under the key the alg names; the kid points at the other key.
  assert.equal(
    outcome(signJson(es, JSON.stringify({ alg: 'ES256', kid: ed.kid }))),
    'WARRANT_JWS_ALG_NOT_ALLOWED',
  );
  assert.equal(
    outcome(signJson(ed, JSON.stringify({ alg: 'EdDSA', kid: es.kid }))),
    'WARRANT_JWS_ALG_NOT_ALLOWED',
  );
  // Signed by the key the kid names, with the other alg: refused the same way, before any verify.
  assert.equal(
    outcome(signJson(ed, JSON.stringify({ alg: 'ES256', kid: ed.kid }))),
    'WARRANT_JWS_ALG_NOT_ALLOWED',
  );
  assert.equal(
    outcome(signJson(es, JSON.stringify({ alg: 'EdDSA', kid: es.kid }))),
    'WARRANT_JWS_ALG_NOT_ALLOWED',
  );
});

test("an embedded jwk (the attacker's own key, signed by the attacker) is forbidden", () => {
  const embedded = { kty: attacker.jwk.kty, crv: attacker.jwk.crv, x: attacker.jwk.x };
  assert.equal(
    outcome(signJson(attacker, header({ jwk: embedded }, attacker))),
    'WARRANT_JWS_HEADER_FORBIDDEN',
  );
  // Even naming a trusted kid, or signed by the trusted key itself, the parameter is refused.
  assert.equal(
    outcome(signJson(attacker, header({ kid: ed.kid, jwk: embedded }, attacker))),
    'WARRANT_JWS_HEADER_FORBIDDEN',
  );
  assert.equal(outcome(signJson(ed, header({ jwk: { ...ed.jwk } }))), 'WARRANT_JWS_HEADER_FORBIDDEN');
});

test('jku, x5u, x5c (and x5t, x5t#S256) pointing elsewhere are forbidden', () => {
  const elsewhere: Record<string, unknown> = {
    jku: 'https://attacker.example/.well-known/jwks.json',
    x5u: 'https://attacker.example/cert.pem',
    x5c: ['MIIBszCCAVmgAwIBAgIUAttackerSelfSigned'],
    x5t: 'dGh1bWJwcmludA',
    'x5t#S256': attacker.kid,
  };
  for (const [name, value] of Object.entries(elsewhere)) {
    // Signed by the trusted key with its own kid: the signature verifies; the parameter alone is refused.
    assert.equal(outcome(signJson(ed, header({ [name]: value }))), 'WARRANT_JWS_HEADER_FORBIDDEN', name);
    assert.equal(
      outcome(signJson(attacker, header({ [name]: value }, attacker))),
      'WARRANT_JWS_HEADER_FORBIDDEN',
      name,
    );
  }
});

test('hostile or unknown kid strings find no key', () => {
  const unknownThumbprint = generateSigningKey('EdDSA').kid;
  assert.match(unknownThumbprint, /^[A-Za-z0-9_-]{43}$/);
  const kids = [
    '../../../../dev/null',
    "' OR '1'='1",
    '$(rm -rf /)',
    ';ls',
    'https://attacker.example/key.json',
    unknownThumbprint,
    ed.kid.toLowerCase() === ed.kid ? ed.kid.toUpperCase() : ed.kid.toLowerCase(),
    `${ed.kid}\n`,
    ` ${ed.kid}`,
    `${ed.kid}=`,
    ed.kid.slice(0, 42),
    '',
    '__proto__',
    'constructor',
  ];
  for (const kid of kids) {
    // A valid Ed25519 signature by the trusted key: only the kid lookup refuses it.
    assert.equal(outcome(signJson(ed, header({ kid }))), 'WARRANT_KEY_UNKNOWN', JSON.stringify(kid));
  }
  // No kid at all: nothing to look up.
  assert.equal(outcome(signJson(ed, JSON.stringify({ alg: 'EdDSA' }))), 'WARRANT_KEY_UNKNOWN');
});

test('a non-string kid is malformed', () => {
  for (const kid of [42, null, true, {}, [ed.kid], { $ne: '' }]) {
    assert.equal(outcome(signJson(ed, header({ kid }))), 'WARRANT_JWS_MALFORMED', JSON.stringify(kid));
  }
});

// ---------------------------------------------------------------------------------------------------
// Non-canonical base64url. A lenient decoder (Buffer, atob with fixes) maps each variant below to the
// same bytes as the canonical segment; the strict decoder refuses all of them.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Number of unused low bits in the last character of an unpadded base64url segment. */
const unusedBits = (segment: string) => [0, -1, 4, 2][segment.length % 4] as number;

/** The same bytes with the unused low bits of the last character set (a second encoding). */
function withUnusedBitsSet(segment: string): string {
  const bits = unusedBits(segment);
  assert.ok(bits > 0, 'segment has no unused bits');
  const last = ALPHABET.indexOf(segment.at(-1) ?? '');
  assert.equal(last & ((1 << bits) - 1), 0, 'canonical segment has non-zero unused bits');
  const variant = `${segment.slice(0, -1)}${ALPHABET[last | 1]}`;
  assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(segment, 'base64url'));
  return variant;
}

/** The same bytes in the standard (+/) alphabet; the caller makes sure the segment has a `-` or `_`. */
function withStandardAlphabet(segment: string): string {
  assert.match(segment, /[-_]/);
  const variant = segment.replaceAll('-', '+').replaceAll('_', '/');
  assert.deepEqual(Buffer.from(variant, 'base64'), Buffer.from(segment, 'base64url'));
  return variant;
}

function withPadding(segment: string): string {
  const variant = `${segment}${'='.repeat((4 - (segment.length % 4)) % 4 || 4)}`;
  assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(segment, 'base64url'));
  return variant;
}

/** A header JSON whose base64url has unused bits and contains a `-` or `_` (found by varying typ). */
function awkwardHeader(key: SigningKey): string {
  for (let i = 0; i < 10_000; i++) {
    const json = header({ typ: `JWT~${i}?>` }, key);
    const b64 = encode(json);
    if (unusedBits(b64) > 0 && /[-_]/.test(b64)) return json;
  }
  throw new Error('no awkward header found');
}

/** A valid token whose signature segment contains a `-` or `_` (signatures are random for ES256). */
function tokenWithAwkwardSignature(key: SigningKey): string {
  for (let i = 0; i < 10_000; i++) {
    const token = signJson(key, awkwardHeader(key), JSON.stringify({ ...claims, jti: `j-${i}` }));
    if (/[-_]/.test(segments(token)[2])) return token;
  }
  throw new Error('no awkward signature found');
}

const awkward = { EdDSA: tokenWithAwkwardSignature(ed), ES256: tokenWithAwkwardSignature(es) };

/** Variants of the signature segment: same signature bytes to a lenient decoder. */
function signatureVariants(token: string): Record<string, string> {
  const [h, p, s] = segments(token);
  const mid = s.length >> 1;
  return {
    'signature padded with =': `${h}.${p}.${withPadding(s)}`,
    'signature in the +/ alphabet': `${h}.${p}.${withStandardAlphabet(s)}`,
    'signature with non-zero unused bits': `${h}.${p}.${withUnusedBitsSet(s)}`,
    'signature with a newline inside': `${h}.${p}.${s.slice(0, mid)}\n${s.slice(mid)}`,
    'signature with a space inside': `${h}.${p}.${s.slice(0, mid)} ${s.slice(mid)}`,
    'signature with CRLF at the end': `${h}.${p}.${s}\r\n`,
    'signature with a tab at the start': `${h}.${p}.\t${s}`,
  };
}

/** Variants of the header segment, each re-signed over its exact ASCII so the signature would verify. */
function headerVariants(token: string, key: SigningKey): Record<string, string> {
  const [h, p] = segments(token);
  const mid = h.length >> 1;
  const resign = (variant: string) => signSegments(key, variant, p);
  return {
    'header padded with =': resign(withPadding(h)),
    'header in the +/ alphabet': resign(withStandardAlphabet(h)),
    'header with non-zero unused bits': resign(withUnusedBitsSet(h)),
    'header with a newline inside': resign(`${h.slice(0, mid)}\n${h.slice(mid)}`),
    'header with a space inside': resign(`${h.slice(0, mid)} ${h.slice(mid)}`),
    'payload with a newline at the end': signSegments(key, h, `${p}\n`),
    'payload padded with =': signSegments(key, h, withPadding(p)),
  };
}

/** Decodes the way a lenient library would: any alphabet, padding and whitespace ignored. */
function lenientBytes(token: string): string[] {
  return token.split('.').map((s) => Buffer.from(s.replace(/\s+/g, ''), 'base64').toString('hex'));
}

for (const alg of ['EdDSA', 'ES256'] as const) {
  test(`${alg}: non-canonical base64url signatures (same bytes) are malformed`, () => {
    const token = awkward[alg];
    assert.equal(outcome(token), 'accepted');
    for (const [label, variant] of Object.entries(signatureVariants(token))) {
      assert.deepEqual(lenientBytes(variant), lenientBytes(token), label);
      assert.equal(outcome(variant), 'WARRANT_JWS_MALFORMED', label);
    }
  });

  test(`${alg}: non-canonical base64url headers and payloads (re-signed) are malformed`, () => {
    const key = alg === 'EdDSA' ? ed : es;
    const token = awkward[alg];
    for (const [label, variant] of Object.entries(headerVariants(token, key))) {
      const [vh, vp] = variant.split('.');
      const [h, p] = segments(token);
      assert.deepEqual(lenientBytes(`${vh}.${vp}`), lenientBytes(`${h}.${p}`), label);
      assert.equal(outcome(variant), 'WARRANT_JWS_MALFORMED', label);
    }
  });
}

test('segment lengths of 1 mod 4 are malformed', () => {
  const [h, p, s] = segments(awkward.EdDSA);
  assert.equal(s.length % 4, 2);
  assert.equal(outcome(`${h}.${p}.${s.slice(0, -1)}`), 'WARRANT_JWS_MALFORMED');
  assert.equal(outcome(`${h}.${p}.${s}AAA`), 'WARRANT_JWS_MALFORMED');
  const longer = `${h}${'A'.repeat((((1 - h.length) % 4) + 4) % 4)}`;
  assert.equal(longer.length % 4, 1);
  assert.equal(outcome(signSegments(ed, longer, p)), 'WARRANT_JWS_MALFORMED');
  const payload = `${p}${'A'.repeat((((1 - p.length) % 4) + 4) % 4)}`;
  assert.equal(payload.length % 4, 1);
  assert.equal(outcome(signSegments(ed, h, payload)), 'WARRANT_JWS_MALFORMED');
});

test('two or four segments, an empty string and non-strings are malformed', () => {
  const [h, p, s] = segments(validEd);
  for (const token of [
    `${h}.${p}`,
    `${h}.${p}.${s}.${s}`,
    `${h}.${p}.${s}.`,
    `.${h}.${p}.${s}`,
    `${h}..${p}.${s}`,
    `${h}`,
    '',
    '..',
    '...',
    `${validEd},${validEd}`,
  ]) {
    assert.equal(outcome(token), 'WARRANT_JWS_MALFORMED', JSON.stringify(token.slice(0, 20)));
  }
  for (const token of [undefined, null, 42, true, {}, [validEd], Buffer.from(validEd), new String(validEd)]) {
    assert.equal(outcome(token), 'WARRANT_JWS_MALFORMED', typeof token);
  }
  // An otherwise valid token that is too long.
  const huge = signJson(ed, header({}), JSON.stringify({ ...claims, pad: 'x'.repeat(16 * 1024) }));
  assert.equal(outcome(huge), 'WARRANT_JWS_MALFORMED');
});

test('duplicate header members are malformed (whichever one a parser would keep)', () => {
  for (const json of [
    `{"alg":"EdDSA","alg":"none","kid":"${ed.kid}"}`,
    `{"alg":"none","alg":"EdDSA","kid":"${ed.kid}"}`,
    `{"alg":"EdDSA","kid":"${ed.kid}","kid":"${ed.kid}"}`,
    `{"alg":"EdDSA","kid":"${attacker.kid}","kid":"${ed.kid}"}`,
    `{"alg":"EdDSA","\\u0061lg":"EdDSA","kid":"${ed.kid}"}`,
    `{"alg":"EdDSA","kid":"${ed.kid}","typ":"JWT","typ":"wi+jwt"}`,
  ]) {
    assert.equal(outcome(signJson(ed, json)), 'WARRANT_JWS_MALFORMED', json);
  }
});

test('duplicate claims are malformed, at any depth', () => {
  for (const json of [
    `{"sub":"agent-1","sub":"admin","iss":"https://issuer.example"}`,
    `{"sub":"agent-1","s\\u0075b":"admin"}`,
    `{"cnf":{"jkt":"${ed.kid}","jkt":"${attacker.kid}"}}`,
    `{"act":{"sub":"a","act":{"sub":"b","sub":"c"}}}`,
    `{"grants":[{"action":"read","action":"write"}]}`,
  ]) {
    assert.equal(outcome(signJson(ed, header({}), json)), 'WARRANT_JWS_MALFORMED', json);
  }
  // The same claims without the duplicate verify: the refusal is the duplicate, not the shape.
  assert.equal(
    outcome(signJson(ed, header({}), `{"sub":"agent-1","iss":"https://issuer.example"}`)),
    'accepted',
  );
});

test('a header or payload that is not a JSON object is malformed', () => {
  for (const json of [
    '[]',
    '"EdDSA"',
    'null',
    '1',
    `{"alg":"EdDSA","kid":"${ed.kid}",}`,
    `\uFEFF${header({})}`,
  ]) {
    assert.equal(outcome(signJson(ed, json)), 'WARRANT_JWS_MALFORMED', json);
  }
  for (const json of ['[]', '"x"', 'null', '', 'not json']) {
    assert.equal(outcome(signJson(ed, header({}), json)), 'WARRANT_JWS_MALFORMED', json);
  }
});

test('crit is unsupported, whatever it lists', () => {
  for (const crit of [['exp'], ['b64'], [], 'exp', null]) {
    assert.equal(
      outcome(signJson(ed, header({ crit, exp: 1 }))),
      'WARRANT_JWS_CRIT_UNSUPPORTED',
      JSON.stringify(crit),
    );
  }
});

test('b64:false (unencoded payload) is malformed', () => {
  assert.equal(outcome(signJson(ed, header({ b64: false }))), 'WARRANT_JWS_MALFORMED');
  assert.equal(outcome(signJson(ed, header({ b64: true }))), 'WARRANT_JWS_MALFORMED');
  // RFC 7797 requires crit: ["b64"] with it; the crit check comes first.
  assert.equal(outcome(signJson(ed, header({ b64: false, crit: ['b64'] }))), 'WARRANT_JWS_CRIT_UNSUPPORTED');
});

test('a flipped bit in the signature, payload or header is an invalid signature', () => {
  for (const token of [validEd, validEs]) {
    const [h, p, s] = segments(token);
    const sig = Buffer.from(s, 'base64url');
    for (const bit of [0, 7, 8 * 31 + 3, 8 * 63 + 7]) {
      const flipped = Buffer.from(sig);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(outcome(`${h}.${p}.${encode(flipped)}`), 'WARRANT_JWS_SIGNATURE_INVALID', `bit ${bit}`);
    }
    // 'agent-1' -> 'agent-0' is one bit (0x31 -> 0x30), and the payload stays valid JSON.
    const payload = Buffer.from(claimsJson);
    payload[claimsJson.indexOf('agent-1') + 6] ^= 1;
    assert.equal(JSON.parse(payload.toString()).sub, 'agent-0');
    assert.equal(outcome(`${h}.${encode(payload)}.${s}`), 'WARRANT_JWS_SIGNATURE_INVALID');
    const otherHeader = encode(
      JSON.stringify({ ...JSON.parse(Buffer.from(h, 'base64url').toString()), typ: 'JWS' }),
    );
    assert.equal(outcome(`${otherHeader}.${p}.${s}`), 'WARRANT_JWS_SIGNATURE_INVALID');
  }
});

test('a signature by another key of the same type is invalid', () => {
  const [h, p] = segments(validEd);
  const forged = signSegments(attacker, h, p);
  assert.equal(outcome(forged), 'WARRANT_JWS_SIGNATURE_INVALID');
  const otherEs = generateSigningKey('ES256');
  const [hs, ps] = segments(validEs);
  assert.equal(outcome(signSegments(otherEs, hs, ps)), 'WARRANT_JWS_SIGNATURE_INVALID');
});

test('ES256: DER-encoded, truncated and over-long signatures are invalid', () => {
  const input = `${encode(header({}, es))}.${encode(claimsJson)}`;
  const der = nodeSign('sha256', Buffer.from(input, 'latin1'), { key: es.privateKey, dsaEncoding: 'der' });
  assert.ok(der.length >= 8 && der.length <= 72 && der[0] === 0x30);
  assert.equal(outcome(`${input}.${encode(der)}`), 'WARRANT_JWS_SIGNATURE_INVALID');
  const p1363 = Buffer.from(ALGORITHMS.ES256.sign(es.privateKey, Buffer.from(input, 'latin1')));
  assert.equal(outcome(`${input}.${encode(p1363)}`), 'accepted');
  for (const sig of [
    p1363.subarray(0, 63),
    p1363.subarray(0, 32),
    Buffer.concat([p1363, Buffer.alloc(1)]),
    Buffer.concat([Buffer.alloc(1), p1363]),
    Buffer.concat([Buffer.alloc(1), p1363.subarray(0, 32), Buffer.alloc(1), p1363.subarray(32)]),
    Buffer.alloc(64),
  ]) {
    assert.equal(outcome(`${input}.${encode(sig)}`), 'WARRANT_JWS_SIGNATURE_INVALID', `${sig.length} bytes`);
  }
});

test('EdDSA: truncated and over-long signatures are invalid', () => {
  const [h, p, s] = segments(validEd);
  const sig = Buffer.from(s, 'base64url');
  for (const bad of [
    sig.subarray(0, 63),
    Buffer.concat([sig, Buffer.alloc(1)]),
    Buffer.concat([sig, sig]),
    Buffer.alloc(64),
  ]) {
    assert.equal(outcome(`${h}.${p}.${encode(bad)}`), 'WARRANT_JWS_SIGNATURE_INVALID', `${bad.length} bytes`);
  }
});

test('one token string per signature: the hash is stable and no tested re-encoding is accepted', () => {
  for (const [alg, key] of [
    ['EdDSA', ed],
    ['ES256', es],
  ] as const) {
    const token = awkward[alg];
    const expected = createHash('sha256').update(token, 'latin1').digest('base64url');
    assert.equal(tokenHash(token), expected);
    const first = verifyCompact(token, trusted.resolve);
    const second = verifyCompact(token, trusted.resolve);
    assert.equal(first.compact, token);
    assert.equal(tokenHash(first.compact), tokenHash(second.compact));

    const variants = { ...signatureVariants(token), ...headerVariants(token, key) };
    const accepted = [token, ...Object.values(variants)].filter((t) => outcome(t) === 'accepted');
    assert.deepEqual(accepted, [token], alg);
    const hashes = new Set([token, ...Object.values(variants)].map(tokenHash));
    assert.equal(hashes.size, Object.keys(variants).length + 1, 'each variant string has its own hash');
  }
  // EdDSA signing is deterministic: re-signing the same claims gives the same string and hash.
  assert.equal(signCompact({ typ: 'JWT' }, claims, ed), validEd);
});

test('ES256 signature malleability: the (r, n - s) twin is refused — one token string per signature', () => {
  // ECDSA itself accepts both s and n - s (Wycheproof marks high-s as valid), which would give every ES256
  // signature a second token string with its own hash. Warrant signs low-s only and refuses high-s, so
  // ES256 has one token string per signature, like EdDSA, and the token hash identifies it.
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const [h, p, s] = segments(validEs);
  const sig = Buffer.from(s, 'base64url');
  const sValue = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  assert.ok(sValue <= n >> 1n, 'Warrant signs low-s');
  const mirrored = Buffer.concat([
    sig.subarray(0, 32),
    Buffer.from((n - sValue).toString(16).padStart(64, '0'), 'hex'),
  ]);
  const twin = `${h}.${p}.${encode(mirrored)}`;
  assert.notEqual(twin, validEs);
  // The twin is a genuine ECDSA signature: only the low-s rule stands in its way.
  const signingInput = Buffer.from(`${h}.${p}`, 'latin1');
  assert.equal(
    nodeVerify('sha256', signingInput, { key: es.keyObject, dsaEncoding: 'ieee-p1363' }, mirrored),
    true,
  );
  // It would hash differently, which is exactly why it must not verify: only validEs's hash is ever accepted.
  assert.notEqual(tokenHash(twin), tokenHash(validEs));
  assert.equal(outcome(twin), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(outcome(validEs), 'accepted');
  // The rule is the canonical check (on by default), not the verify: plain verification, which external
  // signatures get (`canonical: false`), accepts the twin.
  assert.equal(ALGORITHMS.ES256.canonical(mirrored), false);
  assert.equal(ALGORITHMS.ES256.verify(es.keyObject, signingInput, mirrored), true);
  assert.equal(outcome(twin, { canonical: false }), 'accepted');
  // Fresh ES256 tokens are always the low-s one of the pair.
  for (let i = 0; i < 20; i++) {
    const fresh = Buffer.from(segments(signCompact({ typ: 'JWT' }, claims, es))[2], 'base64url');
    assert.ok(BigInt(`0x${fresh.subarray(32).toString('hex')}`) <= n >> 1n, `fresh token ${i} is high-s`);
  }
  // Ed25519 has no such twin: S + L is refused (the Wycheproof SignatureMalleability cases).
  const l = BigInt('0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed');
  const [eh, ep, esig] = segments(validEd);
  const edSig = Buffer.from(esig, 'base64url');
  const sLe = BigInt(`0x${Buffer.from(edSig.subarray(32)).reverse().toString('hex')}`);
  const plusL = Buffer.from((sLe + l).toString(16).padStart(64, '0'), 'hex').reverse();
  assert.equal(
    outcome(`${eh}.${ep}.${encode(Buffer.concat([edSig.subarray(0, 32), plusL]))}`),
    'WARRANT_JWS_SIGNATURE_INVALID',
  );
});
