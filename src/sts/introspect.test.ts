import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type InProcessSts, inProcessSts, type TestAgent } from '../../test/support/in-process-sts.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { signToken, type WarrantClaims } from '../core/tokens/index.ts';
import { introspect } from './introspect.ts';

let h: InProcessSts;
let planner: TestAgent;
let executor: TestAgent;
let bystander: TestAgent;

before(async () => {
  h = await inProcessSts();
  planner = await h.agent('planner');
  executor = await h.agent('executor');
  bystander = await h.agent('bystander');
});
after(() => h.close());

/** A warrant alice hands the planner for the executor, signed and recorded by the STS. */
async function warrant(overrides: Partial<WarrantClaims> = {}) {
  const now = h.sts.clock();
  return h.sts.mintWarrant(
    {
      sub: 'alice',
      sub_iss: 'https://idp.example',
      act: { sub: planner.id },
      aud: executor.id,
      scope: 'crm:read',
      grants: [{ action: 'crm:read', resource: 'crm/*' }],
      txn: h.sts.newTxn(),
      depth: 0,
      max_depth: 2,
      may_delegate: false,
      cnf: { jkt: planner.key.kid },
      iat: now,
      exp: now + 300,
      ...overrides,
    },
    null,
  );
}

describe('introspect', () => {
  test('a live warrant is active, with its claims and hash, for its holder, its recipient and the admin', async () => {
    const { token, claims, record } = await warrant();
    for (const caller of [planner.record, executor.record, 'admin' as const]) {
      const answer = await introspect(h.sts, token, caller);
      assert.equal(answer['active'], true);
      assert.equal(answer['token_hash'], record.hash);
      assert.equal(answer['typ'], 'warrant+jwt');
      assert.equal(answer['jti'], claims.jti);
    }
  });

  test('an agent not in the chain learns nothing', async () => {
    const { token } = await warrant();
    assert.deepEqual(await introspect(h.sts, token, bystander.record), { active: false });
  });

  test('a revoked warrant is inactive, even for the admin', async () => {
    const { token, record } = await warrant();
    await h.sts.revoke({ hash: record.hash }, 'test');
    assert.deepEqual(await introspect(h.sts, token, 'admin'), { active: false });
  });

  test('an identity token is introspected like a warrant', async () => {
    const { token } = await h.sts.mintIdentity(planner.record, h.sts.issuer, planner.key.kid);
    const answer = await introspect(h.sts, token, planner.record);
    assert.deepEqual([answer['active'], answer['typ'], answer['sub']], [true, 'wi+jwt', planner.id]);
  });

  test('anything not ours, not a token, of another kind or no longer valid is inactive', async () => {
    const { claims } = await warrant();
    const foreign = signToken('warrant', claims, generateSigningKey());
    const expired = await warrant({ iat: h.sts.clock() - 600, exp: h.sts.clock() - 300 });
    const statusList = signToken(
      'statusList',
      {
        iss: h.sts.issuer,
        sub: `${h.sts.issuer}/status/1`,
        iat: h.sts.clock(),
        exp: h.sts.clock() + 60,
        ttl: 30,
        status_list: { bits: 1, lst: 'eJwDAAAAAAE' },
      },
      h.sts.keys.current,
    );
    for (const token of [foreign, expired.token, statusList, 'not a token', 'a.b.c'])
      assert.deepEqual(await introspect(h.sts, token, 'admin'), { active: false });
  });
});
