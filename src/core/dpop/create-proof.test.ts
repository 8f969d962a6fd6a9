import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import { tokenHash } from '../jose/hash.ts';
import { generateSigningKey } from '../jose/jwk.ts';
import { createDpopProof } from './index.ts';

const now = 1_900_000_000;
const part = (proof: string, i: number) =>
  JSON.parse(Buffer.from(proof.split('.')[i]!, 'base64url').toString('utf8'));

describe('createDpopProof', () => {
  test('the header is typ dpop+jwt, the key alg and the public jwk, and no kid', () => {
    const key = generateSigningKey();
    const header = part(createDpopProof({ key, htm: 'GET', htu: 'https://api.example/a', now }), 0);
    assert.deepEqual(header, {
      alg: 'EdDSA',
      typ: 'dpop+jwt',
      jwk: { kty: 'OKP', crv: 'Ed25519', x: key.jwk.x },
    });
  });

  test('an ES256 proof carries only kty, crv, x and y', () => {
    const key = generateSigningKey('ES256');
    const header = part(createDpopProof({ key, htm: 'GET', htu: 'https://api.example/a', now }), 0);
    assert.deepEqual(Object.keys(header.jwk).sort(), ['crv', 'kty', 'x', 'y']);
    assert.equal(header.alg, 'ES256');
  });

  test('the claims are jti, htm, htu, iat, then ath and nonce when given', () => {
    const key = generateSigningKey();
    const claims = part(
      createDpopProof({
        key,
        htm: 'POST',
        htu: 'https://api.example/a',
        now,
        accessToken: 'tok.en.sig',
        nonce: 'n-1',
      }),
      1,
    );
    assert.deepEqual(Object.keys(claims), ['jti', 'htm', 'htu', 'iat', 'ath', 'nonce']);
    assert.equal(claims.htm, 'POST');
    assert.equal(claims.iat, now);
    assert.equal(claims.ath, tokenHash('tok.en.sig'));
    assert.equal(claims.nonce, 'n-1');
  });

  test('jti is 128 random bits in base64url, fresh each time', () => {
    const key = generateSigningKey();
    const a = part(createDpopProof({ key, htm: 'GET', htu: 'https://api.example/', now }), 1).jti;
    const b = part(createDpopProof({ key, htm: 'GET', htu: 'https://api.example/', now }), 1).jti;
    assert.match(a, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b);
  });

  test('htu drops the query and fragment and is normalized', () => {
    const key = generateSigningKey();
    const claims = part(
      createDpopProof({ key, htm: 'GET', htu: 'HTTPS://Api.Example:443/a/b?x=1#f', now }),
      1,
    );
    assert.equal(claims.htu, 'https://api.example/a/b');
  });

  test('caller mistakes are TypeErrors', () => {
    const key = generateSigningKey();
    assert.throws(() => createDpopProof({ key, htm: '', htu: 'https://api.example/', now }), TypeError);
    assert.throws(() => createDpopProof({ key, htm: 'GET', htu: '/relative', now }), TypeError);
    assert.throws(() => createDpopProof({ key, htm: 'GET', htu: 'ftp://api.example/', now }), TypeError);
    assert.throws(
      () => createDpopProof({ key, htm: 'GET', htu: 'https://api.example/', now, jti: '' }),
      TypeError,
    );
    assert.throws(
      () => createDpopProof({ key, htm: 'GET', htu: 'https://api.example/', now, accessToken: '' }),
      TypeError,
    );
    assert.throws(
      () => createDpopProof({ key: key.jwk as never, htm: 'GET', htu: 'https://api.example/', now }),
      TypeError,
    );
  });
});
