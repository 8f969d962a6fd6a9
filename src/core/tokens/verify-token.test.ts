import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildChain, ISSUER } from '../../../test/support/chains.ts';
import { generateSigningKey } from '../jose/jwk.ts';
import { signCompact } from '../jose/jws.ts';
import { KeySet } from '../jose/key-set.ts';
import { type IdentityClaims, signToken, TYP, verifyToken } from './index.ts';

const key = generateSigningKey();
const holder = generateSigningKey('ES256');
const keys = new KeySet([key]).resolve;
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

const warrantClaims = () => buildChain(1, now).claims[0]!;
const raw = (typ: string, claims: Record<string, unknown>) => signCompact({ typ }, claims, key);
const opts = { keys, now, issuer: ISSUER };

describe('verifyToken', () => {
  test('verifies an identity token and reports its hash and kid', () => {
    const t = verifyToken('identity', signToken('identity', identity, key), {
      ...opts,
      audience: ISSUER,
      jkt: holder.kid,
    });
    assert.equal(t.claims.sub, identity.sub);
    assert.equal(t.kid, key.kid);
    assert.match(t.hash, /^[A-Za-z0-9_-]{43}$/);
  });

  test('an identity token offered as a warrant is refused by typ', () => {
    assert.throws(() => verifyToken('warrant', signToken('identity', identity, key), opts), {
      code: 'WARRANT_TOKEN_TYPE_MISMATCH',
    });
  });

  test('a warrant offered as an identity token is refused by typ', () => {
    assert.throws(() => verifyToken('identity', signToken('warrant', warrantClaims(), key), opts), {
      code: 'WARRANT_TOKEN_TYPE_MISMATCH',
    });
  });

  test('the token kinds are identity, warrant and status list; checkpoint+jwt is no kind (the ledger signs notes)', () => {
    assert.deepEqual(TYP, {
      identity: 'wi+jwt',
      warrant: 'warrant+jwt',
      statusList: 'statuslist+jwt',
    });
  });

  test('a missing or generic typ is refused', () => {
    assert.throws(() => verifyToken('identity', signCompact({}, { ...identity }, key), opts), {
      code: 'WARRANT_TOKEN_TYPE_MISMATCH',
    });
    assert.throws(() => verifyToken('identity', raw('JWT', { ...identity }), opts), {
      code: 'WARRANT_TOKEN_TYPE_MISMATCH',
    });
  });

  test('a warrant relabelled as an identity token is refused by its exclusive claims', () => {
    const w = raw(TYP.identity, { ...warrantClaims(), tier: 'executor' } as unknown as Record<
      string,
      unknown
    >);
    assert.throws(() => verifyToken('identity', w, opts), { code: 'WARRANT_CLAIM_INVALID' });
  });

  for (const name of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'cnf', 'tier'] as const) {
    test(`identity token without ${name} is refused`, () => {
      const { [name]: _, ...rest } = identity;
      assert.throws(() => verifyToken('identity', raw(TYP.identity, rest), opts), {
        code: 'WARRANT_CLAIM_MISSING',
      });
    });
  }

  for (const name of [
    'sub_iss',
    'act',
    'aud',
    'scope',
    'grants',
    'txn',
    'depth',
    'max_depth',
    'may_delegate',
    'cnf',
  ] as const) {
    test(`warrant without ${name} is refused`, () => {
      const { [name]: _, ...rest } = warrantClaims();
      assert.throws(() => verifyToken('warrant', raw(TYP.warrant, rest), opts), {
        code: 'WARRANT_CLAIM_MISSING',
      });
    });
  }

  test('a warrant with an unknown top-level claim is refused: WARRANT_CLAIM_UNKNOWN', () => {
    for (const extra of [{ role: 'admin' }, { scope_override: '*' }, { 'x-debug': true }, { act_as: {} }]) {
      const t = raw(TYP.warrant, { ...warrantClaims(), ...extra } as unknown as Record<string, unknown>);
      assert.throws(
        () => verifyToken('warrant', t, opts),
        { code: 'WARRANT_CLAIM_UNKNOWN' },
        Object.keys(extra)[0],
      );
    }
  });

  test('an identity token with an unknown top-level claim is refused: WARRANT_CLAIM_UNKNOWN', () => {
    const t = raw(TYP.identity, { ...identity, admin: true });
    assert.throws(() => verifyToken('identity', t, opts), { code: 'WARRANT_CLAIM_UNKNOWN' });
  });

  test('a claim of another kind stays WARRANT_CLAIM_INVALID (checked before unknown claims)', () => {
    const t = raw(TYP.warrant, { ...warrantClaims(), tier: 'x' } as unknown as Record<string, unknown>);
    assert.throws(() => verifyToken('warrant', t, opts), { code: 'WARRANT_CLAIM_INVALID' });
  });

  test('a warrant without status is refused: WARRANT_STATUS_MISSING (and signToken will not mint one)', () => {
    const { status: _, ...rest } = warrantClaims();
    assert.throws(() => verifyToken('warrant', raw(TYP.warrant, rest), opts), {
      code: 'WARRANT_STATUS_MISSING',
    });
    assert.throws(() => signToken('warrant', rest as never, key), { code: 'WARRANT_STATUS_MISSING' });
  });

  test('every claim the STS mints is in the closed set, apv and nbf included', () => {
    const c = {
      ...warrantClaims(),
      nbf: warrantClaims().iat,
      apv: { id: 'apv-1', approver: 'bob@example.org', at: now, action: 'payments:refund', digest: 'd' },
    };
    const t = verifyToken('warrant', signToken('warrant', c, key), opts);
    assert.equal(t.claims.apv?.id, 'apv-1');
    assert.deepEqual(t.claims.status, c.status);
    const id = signToken(
      'identity',
      { ...identity, nbf: now, status: { idx: 1, uri: `${ISSUER}/status/1` } },
      key,
    );
    assert.equal(verifyToken('identity', id, opts).claims.status?.idx, 1);
  });

  test('an identity token may live at most 15 minutes', () => {
    const t = raw(TYP.identity, { ...identity, exp: now + 901 });
    assert.throws(() => verifyToken('identity', t, opts), { code: 'WARRANT_TOKEN_LIFETIME_EXCEEDED' });
  });

  test('expired and not-yet-valid tokens are refused (30 s skew)', () => {
    const t = signToken('identity', identity, key);
    assert.throws(() => verifyToken('identity', t, { ...opts, now: now + 330 }), {
      code: 'WARRANT_TOKEN_EXPIRED',
    });
    assert.doesNotThrow(() => verifyToken('identity', t, { ...opts, now: now + 329 }));
    assert.throws(() => verifyToken('identity', t, { ...opts, now: now - 31 }), {
      code: 'WARRANT_TOKEN_NOT_YET_VALID',
    });
    const nbf = signToken('identity', { ...identity, nbf: now + 100 }, key);
    assert.throws(() => verifyToken('identity', nbf, { ...opts, now: now + 60 }), {
      code: 'WARRANT_TOKEN_NOT_YET_VALID',
    });
  });

  test('another issuer, audience or holder key is refused', () => {
    const t = signToken('identity', identity, key);
    assert.throws(() => verifyToken('identity', t, { ...opts, issuer: 'https://other' }), {
      code: 'WARRANT_ISSUER_MISMATCH',
    });
    assert.throws(() => verifyToken('identity', t, { ...opts, audience: 'https://other' }), {
      code: 'WARRANT_AUDIENCE_MISMATCH',
    });
    assert.throws(() => verifyToken('identity', t, { ...opts, jkt: key.kid }), {
      code: 'WARRANT_CNF_MISMATCH',
    });
  });

  test('a warrant with an array audience is refused (single recipient)', () => {
    const t = raw(TYP.warrant, { ...warrantClaims(), aud: ['a', 'b'] } as unknown as Record<string, unknown>);
    assert.throws(() => verifyToken('warrant', t, opts), { code: 'WARRANT_CLAIM_INVALID' });
  });

  test('a root warrant with prev, or an actor count that disagrees with depth, is refused', () => {
    const c = warrantClaims();
    const withPrev = raw(TYP.warrant, { ...c, prev: 'A'.repeat(43) } as unknown as Record<string, unknown>);
    assert.throws(() => verifyToken('warrant', withPrev, opts), { code: 'WARRANT_CLAIM_INVALID' });
    const deeper = raw(TYP.warrant, {
      ...c,
      depth: 1,
      prev: 'A'.repeat(43),
      root: 'A'.repeat(43),
    } as unknown as Record<string, unknown>);
    assert.throws(() => verifyToken('warrant', deeper, opts), { code: 'WARRANT_CLAIM_INVALID' });
  });

  test('malformed grants, cnf and may_delegate are refused', () => {
    const c = warrantClaims() as unknown as Record<string, unknown>;
    for (const bad of [
      { grants: [{ action: 'a', resource: 'r', extra: 1 }] },
      { grants: 'crm:read' },
      { cnf: { jkt: 'short' } },
      { cnf: { jkt: key.kid, jwk: {} } },
      { may_delegate: true },
      { may_delegate: { aud: [] } },
      { act: { sub: 'x', iss: 'y' } },
      { depth: -1 },
      { depth: 1.5 },
    ]) {
      assert.throws(
        () => verifyToken('warrant', raw(TYP.warrant, { ...c, ...bad }), opts),
        { code: 'WARRANT_CLAIM_INVALID' },
        JSON.stringify(bad),
      );
    }
  });

  test('signToken refuses to mint claims a verifier would refuse', () => {
    assert.throws(() => signToken('identity', { ...identity, exp: identity.iat } as IdentityClaims, key), {
      code: 'WARRANT_CLAIM_INVALID',
    });
  });
});
