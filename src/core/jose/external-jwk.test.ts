import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import { isWarrantError } from '../errors.ts';
import { encode } from './base64url.ts';
import { type ExternalKey, importExternalJwk, importExternalJwks } from './external-jwk.ts';
import { parseCompact, verifyParsedExternal } from './jws.ts';

/** Another party's signer, written against node's crypto alone (not Warrant's signer). */
function foreignJwt(
  alg: string,
  privateKey: KeyObject,
  header: Record<string, unknown> = {},
  claims: Record<string, unknown> = { iss: 'https://idp.example', sub: 'alice' },
): string {
  const input = `${encode(JSON.stringify({ alg, ...header }))}.${encode(JSON.stringify(claims))}`;
  const data = Buffer.from(input, 'latin1');
  const signature =
    alg === 'RS256'
      ? sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING })
      : alg === 'PS256'
        ? sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : alg === 'ES256'
          ? sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
          : alg === 'ES384'
            ? sign('sha384', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
            : sign(null, data, privateKey);
  return `${input}.${encode(signature)}`;
}

const publicJwk = (key: KeyObject, extra: Record<string, unknown> = {}) => ({
  ...(key.export({ format: 'jwk' }) as Record<string, unknown>),
  ...extra,
});

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');

/** `true` when the token verifies under `keys`, else the error code. */
function verdict(token: string, keys: readonly ExternalKey[]): true | string {
  try {
    verifyParsedExternal(parseCompact(token, { algorithms: 'external' }), keys);
    return true;
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    return error.code;
  }
}

describe('external algorithms: RS256, PS256, ES256, ES384, EdDSA from JWKS keys', () => {
  const cases = [
    ['RS256', rsa],
    ['PS256', rsa],
    ['ES256', p256],
    ['ES384', p384],
    ['EdDSA', ed],
  ] as const;
  for (const [alg, pair] of cases) {
    test(`${alg} verifies under its issuer key, and not under another`, () => {
      const key = importExternalJwk(publicJwk(pair.publicKey, { kid: 'k1' }));
      const token = foreignJwt(alg, pair.privateKey, { kid: 'k1' });
      assert.equal(verdict(token, [key]), true);
      const other = importExternalJwk(publicJwk(generateKeyPairSync('ed25519').publicKey, { kid: 'k1' }));
      assert.equal(
        verdict(token, [other]),
        alg === 'EdDSA' ? 'WARRANT_JWS_SIGNATURE_INVALID' : 'WARRANT_KEY_UNKNOWN',
      );
      // One byte short: the exact signature length is required.
      const [h, p, s] = token.split('.') as [string, string, string];
      const short = `${h}.${p}.${encode(Buffer.from(s, 'base64url').subarray(1))}`;
      assert.equal(verdict(short, [key]), 'WARRANT_JWS_SIGNATURE_INVALID');
    });
  }

  test('the alg is bound to the key type, and to the JWK alg when it names one', () => {
    const rsaKey = importExternalJwk(publicJwk(rsa.publicKey));
    assert.deepEqual([...rsaKey.algs].sort(), ['PS256', 'RS256']);
    // An ES256 header cannot select an RSA key, nor an RS256 header an EC key.
    assert.equal(verdict(foreignJwt('ES256', p256.privateKey), [rsaKey]), 'WARRANT_KEY_UNKNOWN');
    const ecKey = importExternalJwk(publicJwk(p256.publicKey));
    assert.equal(verdict(foreignJwt('RS256', rsa.privateKey), [ecKey]), 'WARRANT_KEY_UNKNOWN');
    // An RSA key published for RS256 only does not verify PS256.
    const rs256Only = importExternalJwk(publicJwk(rsa.publicKey, { alg: 'RS256' }));
    assert.equal(verdict(foreignJwt('PS256', rsa.privateKey), [rs256Only]), 'WARRANT_KEY_UNKNOWN');
    assert.equal(verdict(foreignJwt('RS256', rsa.privateKey), [rs256Only]), true);
  });

  test('the header kid selects the key; without a kid every key of the right type is tried', () => {
    const a = importExternalJwk(publicJwk(generateKeyPairSync('ed25519').publicKey, { kid: 'a' }));
    const b = importExternalJwk(publicJwk(ed.publicKey, { kid: 'b' }));
    assert.equal(verdict(foreignJwt('EdDSA', ed.privateKey, { kid: 'b' }), [a, b]), true);
    assert.equal(
      verdict(foreignJwt('EdDSA', ed.privateKey, { kid: 'a' }), [a, b]),
      'WARRANT_JWS_SIGNATURE_INVALID',
    );
    assert.equal(verdict(foreignJwt('EdDSA', ed.privateKey, { kid: 'c' }), [a, b]), 'WARRANT_KEY_UNKNOWN');
    assert.equal(verdict(foreignJwt('EdDSA', ed.privateKey), [a, b]), true);
  });

  test('algorithms outside the list are refused at parse, and Warrant’s own parse stays EdDSA/ES256', () => {
    for (const alg of ['none', 'HS256', 'RS512', 'PS384', 'ES512', 'EdDSA448']) {
      const token = `${encode(JSON.stringify({ alg }))}.${encode('{}')}.${encode('sig')}`;
      assert.throws(() => parseCompact(token, { algorithms: 'external' }), {
        code: 'WARRANT_JWS_ALG_NOT_ALLOWED',
      });
    }
    assert.throws(() => parseCompact(foreignJwt('RS256', rsa.privateKey)), {
      code: 'WARRANT_JWS_ALG_NOT_ALLOWED',
    });
  });

  test('a foreign token with an embedded key still refuses the key locator', () => {
    const token = foreignJwt('ES256', p256.privateKey, { jwk: publicJwk(p256.publicKey) });
    assert.throws(() => parseCompact(token, { algorithms: 'external' }), {
      code: 'WARRANT_JWS_HEADER_FORBIDDEN',
    });
  });
});

describe('importExternalJwk', () => {
  test('refuses private members, RSA below 2048 bits, non-signing keys and unsupported curves', () => {
    const invalid = { code: 'WARRANT_KEY_INVALID' };
    assert.throws(() => importExternalJwk(p256.privateKey.export({ format: 'jwk' })), invalid);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(() => importExternalJwk(publicJwk(small.publicKey)), invalid);
    assert.throws(() => importExternalJwk(publicJwk(p256.publicKey, { use: 'enc' })), invalid);
    assert.throws(() => importExternalJwk(publicJwk(p256.publicKey, { key_ops: ['encrypt'] })), invalid);
    assert.throws(() => importExternalJwk(publicJwk(p256.publicKey, { alg: 'RS256' })), invalid);
    assert.throws(() => importExternalJwk(publicJwk(p256.publicKey, { alg: 'HS256' })), invalid);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    assert.throws(() => importExternalJwk(publicJwk(k1.publicKey)), invalid);
    assert.throws(() => importExternalJwk({ kty: 'oct', k: 'c2VjcmV0' }), invalid);
    const padded = publicJwk(p256.publicKey);
    assert.throws(() => importExternalJwk({ ...padded, x: `${padded['x']}=` }), invalid);
  });

  test('a JWKS keeps its usable signing keys and skips the rest', () => {
    const keys = importExternalJwks({
      keys: [
        publicJwk(rsa.publicKey, { kid: 'rsa' }),
        publicJwk(p256.publicKey, { kid: 'enc', use: 'enc' }),
        publicJwk(ed.publicKey, { kid: 'ed' }),
        { kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'tiny' },
      ],
    });
    assert.deepEqual(
      keys.map((k) => k.kid),
      ['rsa', 'ed'],
    );
    assert.throws(() => importExternalJwks({ nokeys: [] }), { code: 'WARRANT_KEY_INVALID' });
  });
});
