/**
 * JWT attacks that the token layer (src/core/tokens, `verifyToken`) must stop: a wrong or missing `typ`
 * (token-kind confusion, RFC 8725 §3.11), expired / not-yet-valid / future-issued tokens and time claims of
 * the wrong type. The JWS-level attacks are in jwt-attacks.test.ts; the first test here checks they reach
 * `verifyToken` callers with the same codes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWarrantError } from '../../src/core/errors.ts';
import { encode } from '../../src/core/jose/base64url.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { KeySet } from '../../src/core/jose/key-set.ts';
import {
  type IdentityClaims,
  signToken,
  type TokenKind,
  TYP,
  verifyToken,
} from '../../src/core/tokens/index.ts';

const issuerKey = generateSigningKey('EdDSA');
const otherKey = generateSigningKey('ES256');
const holder = generateSigningKey('ES256');
const keys = new KeySet([issuerKey, otherKey]).resolve;
const ISSUER = 'https://issuer.example';
const now = 1_900_000_000;

const identity: IdentityClaims = {
  iss: ISSUER,
  sub: 'spiffe://warrant.test/agent/planner',
  aud: ISSUER,
  cnf: { jkt: holder.kid },
  tier: 'planner',
  iat: now,
  exp: now + 300,
  jti: 'id-1',
};

const options = { keys, now, issuer: ISSUER };

function outcome(kind: TokenKind, token: unknown, at = now): string {
  try {
    verifyToken(kind, token, { ...options, now: at });
    return 'accepted';
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    return error.code;
  }
}

const raw = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
  signCompact(header, claims, issuerKey);
const valid = signToken('identity', identity, issuerKey);

test('baseline: a correct identity token verifies; JWS attacks keep their codes through verifyToken', () => {
  assert.equal(outcome('identity', valid), 'accepted');
  const [h, p] = valid.split('.');
  assert.equal(outcome('identity', `${h}.${p}.`), 'WARRANT_JWS_MALFORMED');
  const none = `${encode(JSON.stringify({ alg: 'none', typ: TYP.identity }))}.${p}.${encode('x')}`;
  assert.equal(outcome('identity', none), 'WARRANT_JWS_ALG_NOT_ALLOWED');
  assert.equal(
    outcome('identity', raw({ typ: TYP.identity, jku: 'https://attacker.example/' }, { ...identity })),
    'WARRANT_JWS_HEADER_FORBIDDEN',
  );
  assert.equal(
    outcome('identity', raw({ typ: TYP.identity, crit: ['exp'] }, { ...identity })),
    'WARRANT_JWS_CRIT_UNSUPPORTED',
  );
  const unknownKid = signCompact({ typ: TYP.identity }, { ...identity }, generateSigningKey('EdDSA'));
  assert.equal(outcome('identity', unknownKid), 'WARRANT_KEY_UNKNOWN');
});

test('wrong typ: another kind, a generic or missing typ, case and media-type variants', () => {
  for (const typ of [
    TYP.warrant,
    TYP.statusList,
    // Not a Warrant kind (the ledger signs C2SP notes, not JWTs).
    'checkpoint+jwt',
    'JWT',
    'jwt',
    'at+jwt',
    'dpop+jwt',
    TYP.identity.toUpperCase(),
    `application/${TYP.identity}`,
    `${TYP.identity} `,
    '',
  ]) {
    assert.equal(
      outcome('identity', raw({ typ }, { ...identity })),
      'WARRANT_TOKEN_TYPE_MISMATCH',
      JSON.stringify(typ),
    );
  }
  assert.equal(outcome('identity', raw({}, { ...identity })), 'WARRANT_TOKEN_TYPE_MISMATCH');
  // A non-string typ never reaches the comparison: the JWS layer refuses it.
  assert.equal(outcome('identity', raw({ typ: [TYP.identity] }, { ...identity })), 'WARRANT_JWS_MALFORMED');
  // The valid identity token offered as each other kind.
  for (const kind of ['warrant', 'statusList'] as const) {
    assert.equal(outcome(kind, valid), 'WARRANT_TOKEN_TYPE_MISMATCH', kind);
  }
});

test('expired tokens are refused (default 30 s skew), and the boundary is exact', () => {
  assert.equal(outcome('identity', valid, identity.exp + 29), 'accepted');
  assert.equal(outcome('identity', valid, identity.exp + 30), 'WARRANT_TOKEN_EXPIRED');
  assert.equal(outcome('identity', valid, identity.exp + 365 * 24 * 3600), 'WARRANT_TOKEN_EXPIRED');
});

test('not-yet-valid and future-issued tokens are refused', () => {
  assert.equal(outcome('identity', valid, identity.iat - 30), 'accepted');
  assert.equal(outcome('identity', valid, identity.iat - 31), 'WARRANT_TOKEN_NOT_YET_VALID');
  const nbf = signToken('identity', { ...identity, nbf: now + 120 }, issuerKey);
  assert.equal(outcome('identity', nbf, now + 89), 'WARRANT_TOKEN_NOT_YET_VALID');
  assert.equal(outcome('identity', nbf, now + 90), 'accepted');
});

test('time claims of the wrong type are invalid, missing ones are missing, and lifetimes are capped', () => {
  const typ = { typ: TYP.identity };
  for (const bad of [
    { exp: String(identity.exp) },
    { exp: identity.exp + 0.5 },
    { exp: -1 },
    { iat: String(identity.iat) },
    { nbf: 'now' },
    { exp: null },
  ]) {
    assert.equal(
      outcome('identity', raw(typ, { ...identity, ...bad })),
      'WARRANT_CLAIM_INVALID',
      JSON.stringify(bad),
    );
  }
  const { exp: _exp, ...withoutExp } = identity;
  assert.equal(outcome('identity', raw(typ, withoutExp)), 'WARRANT_CLAIM_MISSING');
  assert.equal(
    outcome('identity', raw(typ, { ...identity, exp: identity.iat + 901 })),
    'WARRANT_TOKEN_LIFETIME_EXCEEDED',
  );
  assert.equal(
    outcome('identity', raw(typ, { ...identity, exp: Number.MAX_SAFE_INTEGER })),
    'WARRANT_TOKEN_LIFETIME_EXCEEDED',
  );
});

test('the signature is checked before the claims: a tampered expired token is a signature failure', () => {
  const expired = signToken('identity', { ...identity, iat: now - 1000, exp: now - 900 }, issuerKey);
  assert.equal(outcome('identity', expired), 'WARRANT_TOKEN_EXPIRED');
  const [h, , s] = expired.split('.');
  const extended = encode(JSON.stringify({ ...identity, iat: now, exp: now + 300 }));
  assert.equal(outcome('identity', `${h}.${extended}.${s}`), 'WARRANT_JWS_SIGNATURE_INVALID');
});
