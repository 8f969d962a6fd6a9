/**
 * Circuit breakers and throttle end to end (DESIGN §6): a real STS, a gateway with its own guard runtime
 * (memory counters, an injected clock, the STS's guard store — as `warrant serve` + `warrant gateway`), real
 * upstreams, decisions recorded.
 *
 * - A runaway loop trips the agent's breaker: the call past the cap and every call after it are refused
 *   (429 WARRANT_BREAKER_OPEN, Retry-After, the breaker and why), recorded, never forwarded; after the
 *   cooldown one probe goes through and closes it.
 * - An operator resets a breaker through the admin API (a non-admin cannot); the gateway applies it.
 * - A txn that combines systems its agent never combined trips the txn breaker.
 * - A throttled action answers 429 WARRANT_RATE_LIMITED with Retry-After past its limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CatalogAction } from '../../src/guard/catalog.ts';
import { type GuardRuntime, openGuardRuntime } from '../../src/guard/runtime.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { CRM_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  decisionsSince,
  expectDenyRecord,
  expectRefusal,
  hop,
  nowSeconds,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const MAIL = `${TOOLS}/mail`;
const PAY = `${TOOLS}/pay`;
const BOUNDED = { timeout: 60_000 };
/** The agents' hard cap per 60 s window. */
const CAP = 8;

const read = (name: string, prefix: string): CatalogAction => ({
  ...CRM_READ,
  name,
  match: { protocol: 'http', method: 'GET', path: `${prefix}/*` },
});

const CATALOG: CatalogAction[] = [
  {
    ...CRM_READ,
    name: 'tools:crm.export',
    match: { protocol: 'http', method: 'GET', path: '/crm/export' },
    rateLimit: { requests: 2, perSeconds: 60 },
  },
  CRM_READ,
  read('tools:mail.read', '/mail'),
  read('tools:pay.read', '/pay'),
];

const up = new Upstreams();
let h: GatewayHarness;
let guard: GuardRuntime;
/** The gateway guard's clock: real time plus what a test adds (cooldowns are not slept through). */
let offset = 0;
let planner: AgentClient;

before(async () => {
  h = await startGatewayHarness({
    upstreams: { crm: up.handler('crm'), mail: up.handler('mail'), pay: up.handler('pay') },
    routes: (u) => [
      { match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' },
      { match: { pathPrefix: '/mail' }, upstream: u['mail']!, audience: MAIL, protocol: 'http' },
      { match: { pathPrefix: '/pay' }, upstream: u['pay']!, audience: PAY, protocol: 'http' },
    ],
    catalog: CATALOG,
    openGuard: async (config) => {
      guard = await openGuardRuntime(
        {
          ...config,
          guard: {
            breakers: {
              maxCalls: { agent: CAP, txn: 1000, destination: 1000 },
              cooldownSeconds: 30,
              txnSystems: { max: 16, learnTxns: 1 },
            },
          },
        } as typeof config,
        { clock: () => nowSeconds() + offset, pollMs: 0 },
      );
      return guard;
    },
  });
  planner = await h.sts.agent('planner');
});

after(() => h?.close());

/** A new calling agent with its warrants for each tool, all in one txn. */
async function caller(name: string): Promise<{ agent: AgentClient; warrants: Record<string, string> }> {
  const agent = await h.sts.agent(name, WIDE);
  const root = await rootWarrant(h, planner, agentIdOf(name), [
    { action: 'tools:*', resource: `${TOOLS}/*` },
  ]);
  const warrants: Record<string, string> = {};
  for (const [tool, audience] of [
    ['crm', CRM],
    ['mail', MAIL],
    ['pay', PAY],
  ] as const)
    warrants[tool] = await hop(agent, root, audience);
  return { agent, warrants };
}

/** Waits (bounded) until the observers have applied what they learned from the last answer. */
async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return;
    await sleep(20);
  }
  assert.fail(what);
}

describe('circuit breakers', () => {
  test(
    'a runaway loop trips the agent breaker; it refuses with the reason, recorded, until a probe closes it',
    BOUNDED,
    async () => {
      const { agent, warrants } = await caller('looper');
      for (let i = 0; i < CAP; i++)
        assert.equal((await h.call(agent, warrants['crm']!, '/crm/contacts')).status, 200);
      const hits = up.total;
      const from = h.decisions.records.length;
      const tripped = await h.call(agent, warrants['crm']!, '/crm/contacts');
      assert.equal(tripped.headers.get('retry-after'), '30');
      const body = await expectRefusal(tripped, {
        status: 429,
        error: 'too_many_requests',
        code: 'WARRANT_BREAKER_OPEN',
      });
      assert.match(
        String(body['error_description']),
        /the agent breaker agent:spiffe:\/\/warrant\.test\/agent\/looper is open: 9 calls in the current 60 s window \(cap 8\)/,
      );
      const record = expectDenyRecord(h, from, 'WARRANT_BREAKER_OPEN');
      assert.deepEqual(
        record.breakers?.map((b) => [b.key.split(':')[0], b.state, b.trigger]),
        [
          ['agent', 'open', 'rate_cap'],
          ['txn', 'closed', undefined],
          ['destination', 'closed', undefined],
        ],
      );
      // Every call of the agent is refused now, to any destination.
      const other = await h.call(agent, warrants['mail']!, '/mail/inbox');
      assert.equal(other.status, 429);
      assert.ok(Number(other.headers.get('retry-after')) <= 30);
      assert.equal(up.total, hits, 'nothing forwarded');
      const history = await h.sts.plane.guard.store.changes.of('breaker', `agent:${agentIdOf('looper')}`);
      assert.equal(history[0]?.detail['action'], 'trip', 'the trip is in the guard history');

      // After the cooldown (and the loop's window), one probe goes through and closes it.
      offset += 120;
      const probeFrom = h.decisions.records.length;
      assert.equal((await h.call(agent, warrants['crm']!, '/crm/contacts')).status, 200);
      const [probe] = decisionsSince(h, probeFrom);
      assert.equal(probe?.breakers?.[0]?.state, 'half_open');
      await until(
        async () => (await guard.breakers.list(guard.now())).every((b) => !b.key.includes('looper')),
        'closed',
      );
      assert.equal((await h.call(agent, warrants['mail']!, '/mail/inbox')).status, 200);
    },
  );

  test('an operator resets a breaker through the admin API; a non-admin cannot', BOUNDED, async () => {
    const { agent, warrants } = await caller('stuck');
    for (let i = 0; i < CAP + 1; i++) await h.call(agent, warrants['crm']!, '/crm/contacts');
    assert.equal((await h.call(agent, warrants['crm']!, '/crm/contacts')).status, 429);
    const key = `agent:${agentIdOf('stuck')}`;

    for (const authorization of [undefined, 'Bearer not-the-admin-token']) {
      const refused = await fetch(`${h.sts.url}/admin/breakers/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ key }),
      });
      assert.equal(refused.status, 401);
    }
    await guard.poll();
    assert.equal((await h.call(agent, warrants['crm']!, '/crm/contacts')).status, 429, 'still open');

    const listed = (await (await h.sts.admin('GET', '/breakers')).json()) as {
      history: { key: string; action: string }[];
    };
    assert.ok(
      listed.history.some((c) => c.key === key && c.action === 'trip'),
      'the gateway trip is listed',
    );
    const bad = await h.sts.admin('POST', '/breakers/reset', { key: 'nonsense' });
    assert.equal(bad.status, 400);
    const reset = await h.sts.admin('POST', '/breakers/reset', { key, reason: 'loop fixed' });
    assert.equal(reset.status, 200);
    // The STS's own (memory) counters never saw it: the gateway's recorded trip says it was open.
    assert.deepEqual(await reset.json(), { key, reset: true, wasOpen: true });
    // The gateway learns of it from the guard history (memory counters: each gateway clears its own).
    await guard.poll();
    assert.equal((await h.call(agent, warrants['crm']!, '/crm/contacts')).status, 200);
    const [latest] = await h.sts.plane.guard.store.changes.of('breaker', key);
    assert.deepEqual(
      [latest?.actor, latest?.reason, latest?.detail['action']],
      ['admin', 'loop fixed', 'reset'],
    );
  });

  test('a txn combining systems its agent never combined trips the txn breaker', BOUNDED, async () => {
    // Learning txn: crm + mail.
    const learned = await caller('mixer');
    assert.equal((await h.call(learned.agent, learned.warrants['crm']!, '/crm/contacts')).status, 200);
    assert.equal((await h.call(learned.agent, learned.warrants['mail']!, '/mail/inbox')).status, 200);
    // The next txn: crm + mail again is fine; crm + pay was never seen.
    const root = await rootWarrant(h, planner, agentIdOf('mixer'), [
      { action: 'tools:*', resource: `${TOOLS}/*` },
    ]);
    const agent = learned.agent;
    const [crm, pay] = [await hop(agent, root, CRM), await hop(agent, root, PAY)];
    assert.equal((await h.call(agent, crm, '/crm/contacts')).status, 200);
    const hits = up.total;
    const from = h.decisions.records.length;
    const novel = await h.call(agent, pay, '/pay/invoices');
    const body = await expectRefusal(novel, {
      status: 429,
      error: 'too_many_requests',
      code: 'WARRANT_BREAKER_OPEN',
    });
    assert.match(
      String(body['error_description']),
      /the txn breaker txn:\S+ is open: the txn combines systems https:\/\/tools\.warrant\.test\/crm, https:\/\/tools\.warrant\.test\/pay: a combination this agent never used/,
    );
    assert.ok(novel.headers.get('retry-after'));
    const record = expectDenyRecord(h, from, 'WARRANT_BREAKER_OPEN');
    assert.equal(record.breakers?.[1]?.state, 'open');
    assert.equal(record.breakers?.[1]?.trigger, 'novel_combination');
    assert.equal((await h.call(agent, crm, '/crm/contacts')).status, 429, 'the whole txn is held');
    assert.equal(up.total, hits);
    // The agent itself is fine in another txn.
    const next = await rootWarrant(h, planner, agentIdOf('mixer'), [
      { action: 'tools:*', resource: `${TOOLS}/*` },
    ]);
    assert.equal((await h.call(agent, await hop(agent, next, CRM), '/crm/contacts')).status, 200);
  });
});

describe('throttle', () => {
  test(
    'a throttled action answers 429 WARRANT_RATE_LIMITED with Retry-After past its limit, per agent',
    BOUNDED,
    async () => {
      const a = await caller('exporter');
      for (let i = 0; i < 2; i++)
        assert.equal((await h.call(a.agent, a.warrants['crm']!, '/crm/export')).status, 200);
      const hits = up.total;
      const from = h.decisions.records.length;
      const limited = await h.call(a.agent, a.warrants['crm']!, '/crm/export');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
      const body = await expectRefusal(limited, {
        status: 429,
        error: 'too_many_requests',
        code: 'WARRANT_RATE_LIMITED',
      });
      assert.match(
        String(body['error_description']),
        /tools:crm\.export is rate limited to 2 calls per 60 s/,
      );
      const record = expectDenyRecord(h, from, 'WARRANT_RATE_LIMITED');
      assert.equal(record.action, 'tools:crm.export');
      assert.equal(up.total, hits, 'not forwarded');
      // Other actions of the agent, and the same action for another agent, are not limited.
      assert.equal((await h.call(a.agent, a.warrants['crm']!, '/crm/contacts')).status, 200);
      const b = await caller('exporter2');
      assert.equal((await h.call(b.agent, b.warrants['crm']!, '/crm/export')).status, 200);
    },
  );
});
