/**
 * The SDK's token pool against a real STS (and its status lists and revocation feed): a hundred concurrent
 * gets cost one exchange per key; the STS's `use_dpop_nonce` is answered; a warrant is refreshed before it
 * expires and never handed out expired; a revoked warrant is dropped and replaced, and when what it came
 * from is revoked the pool refuses instead of handing out the revoked one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AgentClient, StsRequestError, TOKEN_TYPES, TokenPool, TokenPoolError } from '../../src/sdk/index.ts';
import { type AgentRevocation, openRevocationStatus } from '../../src/sdk/revocation.ts';
import { agentIdOf, type Harness, startHarness } from '../support/sts-harness.ts';

const TOOLS = 'https://tools.warrant.test';
const API = `${TOOLS}/api`;
const DB = `${TOOLS}/db`;

let h: Harness;
let planner: AgentClient;
let executor: AgentClient;
let revocation: AgentRevocation;
const pools: TokenPool[] = [];

/** A root warrant from alice through the planner, addressed to the executor. */
async function root(): Promise<string> {
  const r = await planner.exchange({
    subjectToken: h.idToken('alice', planner),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: agentIdOf('executor'),
    grants: [{ action: 'tools:*', resource: `${TOOLS}/*` }],
  });
  return r.access_token;
}

function pool(subject: string, extra: Partial<ConstructorParameters<typeof TokenPool>[0]> = {}): TokenPool {
  const p = new TokenPool({
    client: executor,
    subject: { token: subject, type: TOKEN_TYPES.warrant },
    revocation: revocation.status,
    backgroundRefresh: false,
    ...extra,
  });
  pools.push(p);
  return p;
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  h = await startHarness();
  planner = await h.agent('planner');
  executor = await h.agent('executor', { allowedAudiences: [`${TOOLS}/*`] });
  revocation = await openRevocationStatus(h.plane.sts.issuer, { stalenessSeconds: 30 });
});

after(async () => {
  for (const p of pools) p.close();
  revocation?.close();
  await h?.close();
});

describe('token pool', () => {
  test('100 concurrent gets of one key cost one exchange; two keys cost two', async () => {
    const p = pool(await root());
    const got = await Promise.all(Array.from({ length: 100 }, () => p.get({ audience: API })));
    assert.equal(p.exchanges, 1);
    assert.equal(new Set(got.map((w) => w.token)).size, 1, 'everyone got the same warrant');
    assert.equal(got[0]!.claims.aud, API);
    const mixed = await Promise.all(
      Array.from({ length: 100 }, (_, i) => p.get({ audience: i % 2 === 0 ? API : DB })),
    );
    assert.equal(p.exchanges, 2, 'one more exchange, for the second key only');
    assert.deepEqual(new Set(mixed.map((w) => w.claims.aud)), new Set([API, DB]));
  });

  test('a narrower grant is its own key, and the warrant carries exactly that grant', async () => {
    const p = pool(await root());
    const grants = [{ action: 'tools:read', resource: API }];
    const [a, b] = await Promise.all([p.get({ audience: API, grants }), p.get({ audience: API })]);
    assert.equal(p.exchanges, 2);
    assert.deepEqual(
      (a!.claims.grants as { action: string }[]).map((g) => g.action),
      ['tools:read'],
    );
    assert.notEqual(a!.token, b!.token);
  });

  test("the STS's use_dpop_nonce is answered: a fresh client (no nonce yet) still gets its warrant", async () => {
    const fresh = new AgentClient({ issuer: executor.issuer, agentId: executor.agentId, key: executor.key });
    const subject = await root();
    const seen: string[] = [];
    const original = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const response = await original(input, init);
      if (String(input).endsWith('/token'))
        seen.push(
          `${response.status} ${response.status === 400 ? ((await response.clone().json()) as { error: string }).error : ''}`,
        );
      return response;
    };
    try {
      const p = new TokenPool({ client: fresh, subject: { token: subject }, backgroundRefresh: false });
      pools.push(p);
      const w = await p.get({ audience: API });
      assert.equal(w.claims.aud, API);
    } finally {
      globalThis.fetch = original;
    }
    assert.deepEqual(seen, ['400 use_dpop_nonce', '200 ']);
  });

  test('refreshes inside the refresh window and hands out the valid warrant meanwhile', async () => {
    let offset = 0;
    const p = pool(await root(), { now: () => Math.floor(Date.now() / 1000) + offset, random: () => 0 });
    const first = await p.get({ audience: API });
    const lifetime = first.claims.exp - first.claims.iat;
    offset = Math.ceil(lifetime * 0.8); // past 75 % of the lifetime, before expiry
    const during = await p.get({ audience: API });
    assert.equal(during.token, first.token, 'the still-valid warrant is handed out while refreshing');
    assert.equal(p.exchanges, 2, 'the refresh started');
    let after = during;
    for (let i = 0; i < 200 && after.token === first.token; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await p.get({ audience: API });
    }
    assert.notEqual(after.token, first.token, 'the refreshed warrant replaces it');
    assert.equal(p.exchanges, 2, 'one refresh however many gets ran meanwhile');
  });

  test('never hands out an expired warrant', async () => {
    let offset = 0;
    const p = pool(await root(), { now: () => Math.floor(Date.now() / 1000) + offset });
    const first = await p.get({ audience: API });
    // The pool's clock passes the warrant's expiry: it is dropped, and a new exchange cannot help (the STS
    // issues on its own clock, so the new warrant looks expired too): the pool refuses.
    offset = first.claims.exp - first.claims.iat;
    await assert.rejects(p.get({ audience: API }), (e: unknown) => {
      assert.ok(e instanceof TokenPoolError);
      assert.equal(e.code, 'WARRANT_TOKEN_EXPIRED');
      return true;
    });
    assert.equal(p.exchanges, 2);
  });

  test('a revoked pooled warrant is dropped and replaced', async () => {
    const p = pool(await root());
    const first = await p.get({ audience: API });
    const r = await h.admin('POST', '/revoke', { hash: first.hash, reason: 'test' });
    assert.equal(r.status, 200, await r.clone().text());
    await until(
      () => revocation.status.check(first.hash, first.claims.status) === 'revoked',
      'the revocation reaching the agent',
    );
    const second = await p.get({ audience: API });
    assert.notEqual(second.token, first.token);
    assert.equal(p.exchanges, 2);
    assert.equal(revocation.status.check(second.hash, second.claims.status), 'valid');
  });

  test('when the warrant it came from is revoked, the pool refuses rather than hand out a revoked one', async () => {
    const subject = await root();
    const p = pool(subject);
    const first = await p.get({ audience: API });
    const r = await h.admin('POST', '/revoke', { txn: first.claims.txn, reason: 'test' });
    assert.equal(r.status, 200);
    await until(
      () => revocation.status.check(first.hash, first.claims.status) === 'revoked',
      'the revocation reaching the agent',
    );
    await assert.rejects(p.get({ audience: API }), (e: unknown) => {
      assert.ok(e instanceof StsRequestError, String(e));
      assert.equal(e.error, 'invalid_grant');
      return true;
    });
  });
});
