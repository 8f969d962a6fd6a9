/**
 * RFC 8037 A.4 (Ed25519 JWS) and RFC 7520 examples from the machine-readable JOSE cookbook.
 *
 * - curve25519/jws.json: import the private key, check its RFC 7638 thumbprint against RFC 8037 A.3
 *   (the cookbook file carries none), verify the compact JWS, and re-sign the vector's own protected
 *   header and payload at the algorithm level: Ed25519 is deterministic, so the signature is byte-identical.
 * - jws/4_1 (RS256), 4_2 (PS384), 4_3 (ES512 over P-521), 4_4 (HS256), 4_5 (HS256, detached payload):
 *   Warrant allows only EdDSA and ES256, so each compact form is refused with WARRANT_JWS_ALG_NOT_ALLOWED
 *   before any key is looked up. rfc7797 (HS256, b64:false, unencoded payload) is refused earlier, with
 *   WARRANT_JWS_MALFORMED, because its payload segment is not base64url. Their keys (and the jwk/
 *   examples: P-521, RSA, oct) are refused by the importer with WARRANT_KEY_INVALID.
 * - Every `json` / `json_flat` output (JWS JSON serialization) is refused by parseCompact: it takes
 *   compact strings only.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/core/jose/algorithms.ts';
import { decode, encode } from '../../src/core/jose/base64url.ts';
import {
  generateSigningKey,
  importPrivateJwk,
  importPublicJwk,
  thumbprint,
} from '../../src/core/jose/jwk.ts';
import { parseCompact, verifyCompact } from '../../src/core/jose/jws.ts';
import { KeySet } from '../../src/core/jose/key-set.ts';
import { readVectorJson } from './vectors-dir.ts';

interface CookbookExample {
  readonly title: string;
  readonly input: {
    readonly payload?: string;
    readonly key?: Record<string, unknown>;
    readonly alg: unknown;
  };
  readonly signing: {
    readonly protected?: Record<string, unknown>;
    readonly protected_b64u?: string;
    readonly 'sig-input'?: string;
    readonly sig?: string;
  };
  readonly output: { readonly compact?: string; readonly json?: unknown; readonly json_flat?: unknown };
}

/** RFC 8037 A.3: the RFC 7638 thumbprint of the A.1/A.2 Ed25519 key. */
const RFC8037_A3_THUMBPRINT = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';

const ed25519 = readVectorJson<CookbookExample>('jose-cookbook/curve25519/jws.json');

test('rfc 8037 A.4: the Ed25519 key imports and has the A.3 thumbprint', () => {
  assert.equal(ed25519.input.alg, 'EdDSA');
  const key = importPrivateJwk(ed25519.input.key, 'EdDSA');
  assert.equal(key.alg, 'EdDSA');
  assert.equal(key.kid, RFC8037_A3_THUMBPRINT);
  assert.equal(thumbprint(key.jwk), RFC8037_A3_THUMBPRINT);
  // The public half alone gives the same key.
  const { d: _d, ...publicJwk } = ed25519.input.key ?? {};
  assert.equal(importPublicJwk(publicJwk).kid, RFC8037_A3_THUMBPRINT);
  assert.throws(() => importPublicJwk(ed25519.input.key), { code: 'WARRANT_KEY_INVALID' });
});

test('rfc 8037 A.4: the compact JWS verifies and carries the example payload', () => {
  const key = importPrivateJwk(ed25519.input.key, 'EdDSA');
  const compact = ed25519.output.compact;
  assert.equal(typeof compact, 'string');
  const parsed = verifyCompact(compact, () => key, { payload: 'bytes' });
  assert.deepEqual(parsed.header, { alg: 'EdDSA' });
  assert.deepEqual(parsed.header, ed25519.signing.protected);
  assert.equal(Buffer.from(parsed.payload).toString('utf8'), ed25519.input.payload);
  assert.equal(Buffer.from(parsed.signingInput).toString('latin1'), ed25519.signing['sig-input']);
  // The example payload is not a JSON object: the default (JWT) parse refuses it.
  assert.throws(() => verifyCompact(compact, () => key), { code: 'WARRANT_JWS_MALFORMED' });
  // Through a KeySet the kid-less example is refused: keys are only looked up by thumbprint kid.
  assert.throws(() => verifyCompact(compact, new KeySet([key]).resolve, { payload: 'bytes' }), {
    code: 'WARRANT_KEY_UNKNOWN',
  });
  // Another Ed25519 key does not verify it.
  const other = generateSigningKey('EdDSA');
  assert.throws(() => verifyCompact(compact, () => other, { payload: 'bytes' }), {
    code: 'WARRANT_JWS_SIGNATURE_INVALID',
  });
});

test('rfc 8037 A.4: re-signing the same protected header and payload is byte-identical', () => {
  const key = importPrivateJwk(ed25519.input.key, 'EdDSA');
  const protectedB64 = ed25519.signing.protected_b64u;
  assert.equal(protectedB64, 'eyJhbGciOiJFZERTQSJ9');
  const payloadB64 = encode(ed25519.input.payload ?? '');
  const signingInput = `${protectedB64}.${payloadB64}`;
  assert.equal(signingInput, ed25519.signing['sig-input']);
  const signature = ALGORITHMS.EdDSA.sign(key.privateKey, Buffer.from(signingInput, 'latin1'));
  assert.equal(encode(signature), ed25519.signing.sig);
  assert.deepEqual(signature, decode(ed25519.signing.sig ?? ''));
  assert.equal(`${signingInput}.${encode(signature)}`, ed25519.output.compact);
  // And the descriptor verifies the vector's signature, but not over another input.
  assert.equal(ALGORITHMS.EdDSA.verify(key.keyObject, Buffer.from(signingInput, 'latin1'), signature), true);
  assert.equal(
    ALGORITHMS.EdDSA.verify(key.keyObject, Buffer.from(`${signingInput}x`, 'latin1'), signature),
    false,
  );
});

/**
 * Cookbook examples whose compact form uses an algorithm outside the allowlist. The RFC 7797 example
 * carries its payload unencoded ("This is the payload string!"), which is not base64url: the parse stops
 * there, before the header checks, with WARRANT_JWS_MALFORMED.
 */
const REFUSED_COMPACT: ReadonlyArray<[file: string, alg: string, code: string]> = [
  ['jose-cookbook/jws/4_1.rsa_v15_signature.json', 'RS256', 'WARRANT_JWS_ALG_NOT_ALLOWED'],
  ['jose-cookbook/jws/4_2.rsa-pss_signature.json', 'PS384', 'WARRANT_JWS_ALG_NOT_ALLOWED'],
  ['jose-cookbook/jws/4_3.ecdsa_signature.json', 'ES512', 'WARRANT_JWS_ALG_NOT_ALLOWED'],
  ['jose-cookbook/jws/4_4.hmac-sha2_integrity_protection.json', 'HS256', 'WARRANT_JWS_ALG_NOT_ALLOWED'],
  ['jose-cookbook/jws/4_5.signature_with_detached_content.json', 'HS256', 'WARRANT_JWS_ALG_NOT_ALLOWED'],
  ['jose-cookbook/rfc7797/hmac-sha2_b64_false.json', 'HS256', 'WARRANT_JWS_MALFORMED'],
];

for (const [file, alg, code] of REFUSED_COMPACT) {
  test(`cookbook ${file.split('/').pop()}: ${alg} is refused with ${code}`, () => {
    const example = readVectorJson<CookbookExample>(file);
    assert.equal(example.input.alg, alg);
    const compact = example.output.compact;
    assert.equal(typeof compact, 'string');
    assert.equal(
      JSON.parse(Buffer.from(String(compact).split('.')[0] ?? '', 'base64url').toString('utf8')).alg,
      alg,
    );
    // Refused before any key lookup: even a resolver handing out a valid Ed25519 key does not help.
    const anyKey = importPrivateJwk(ed25519.input.key, 'EdDSA');
    let resolved = false;
    const resolver = () => {
      resolved = true;
      return anyKey;
    };
    assert.throws(() => verifyCompact(compact, resolver, { payload: 'bytes' }), { code });
    assert.throws(() => parseCompact(compact, { payload: 'bytes' }), { code });
    assert.equal(resolved, false);
    // The example's own key is not importable either.
    assert.throws(() => importPublicJwk(stripPrivate(example.input.key ?? {})), {
      code: 'WARRANT_KEY_INVALID',
    });
  });
}

function stripPrivate(jwk: Record<string, unknown>): Record<string, unknown> {
  const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !privateMembers.includes(name)));
}

test('cookbook jwk/ examples: P-521, RSA and symmetric keys are refused by the importer', () => {
  for (const name of [
    '3_1.ec_public_key.json',
    '3_2.ec_private_key.json',
    '3_3.rsa_public_key.json',
    '3_4.rsa_private_key.json',
    '3_5.symmetric_key_mac_computation.json',
    '3_6.symmetric_key_encryption.json',
  ]) {
    const jwk = readVectorJson<Record<string, unknown>>(`jose-cookbook/jwk/${name}`);
    assert.throws(() => importPublicJwk(stripPrivate(jwk)), { code: 'WARRANT_KEY_INVALID' }, name);
    assert.throws(() => importPrivateJwk(jwk), { code: 'WARRANT_KEY_INVALID' }, name);
  }
});

test('cookbook: every JWS JSON serialization (general and flattened) is refused by parseCompact', () => {
  const files = [
    'jose-cookbook/curve25519/jws.json',
    'jose-cookbook/jws/4_1.rsa_v15_signature.json',
    'jose-cookbook/jws/4_2.rsa-pss_signature.json',
    'jose-cookbook/jws/4_3.ecdsa_signature.json',
    'jose-cookbook/jws/4_4.hmac-sha2_integrity_protection.json',
    'jose-cookbook/jws/4_5.signature_with_detached_content.json',
    'jose-cookbook/jws/4_6.protecting_specific_header_fields.json',
    'jose-cookbook/jws/4_7.protecting_content_only.json',
    'jose-cookbook/jws/4_8.multiple_signatures.json',
    'jose-cookbook/rfc7797/4.2.hmac-sha2_b64_false.json',
    'jose-cookbook/rfc7797/hmac-sha2_b64_false.json',
  ];
  let checked = 0;
  for (const file of files) {
    const { output } = readVectorJson<CookbookExample>(file);
    for (const form of [output.json, output.json_flat]) {
      if (form === undefined) continue;
      assert.equal(typeof form, 'object', file);
      assert.throws(() => parseCompact(form, { payload: 'bytes' }), { code: 'WARRANT_JWS_MALFORMED' }, file);
      assert.throws(
        () => parseCompact(JSON.stringify(form), { payload: 'bytes' }),
        { code: 'WARRANT_JWS_MALFORMED' },
        file,
      );
      checked++;
    }
  }
  assert.equal(checked, 21);
});
