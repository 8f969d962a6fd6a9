/**
 * Breakers shared through Redis (DESIGN §6): two gateways whose guards count in one Redis (a server of the
 * test's own, killed at the end) — a spike split across them trips the same agent breaker, an operator's
 * reset through the STS admin API clears it in Redis for both at once, and a Redis that is gone makes the
 * guard fail closed (503 WARRANT_HOT_STATE_UNAVAILABLE, nothing forwarded, nothing recorded, not ready).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WarrantConfig } from '../../src/config/types.ts';
import { type RunningGateway, startGateway } from '../../src/gateway/start-gateway.ts';
import { ActionCatalog } from '../../src/guard/catalog.ts';
import { type GuardRuntime, openGuardRuntime } from '../../src/guard/runtime.ts';
import { MemoryDecisionLog } from '../../src/ledger/decision-log.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { CRM_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { OwnRedis } from '../support/redis-server.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  expectDenyRecord,
  expectNoRecord,
  expectRefusal,
  hop,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const BOUNDED = { timeout: 60_000 };
/** The agent cap per 60 s window, over both gateways. */
const CAP = 6;
const GUARD = {
  counters: 'redis',
  breakers: { maxCalls: { agent: CAP, txn: 1000, destination: 1000 }, cooldownSeconds: 300 },
};

const up = new Upstreams();
let redis: OwnRedis;
let h: GatewayHarness;
let second: { gw: RunningGateway; guard: GuardRuntime; decisions: MemoryDecisionLog };
let planner: AgentClient;

/** Retries while a Redis that has just started refuses identifiers made before it (the replay memory's start). */
async function untilAccepted<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if ((error as { code?: string }).code !== 'WARRANT_REPLAY_STATE_LOST' || i > 40) throw error;
      await sleep(250);
    }
  }
}

before(async () => {
  redis = await OwnRedis.start();
  h = await startGatewayHarness({
    sts: { overrides: { redis: { url: redis.url }, guard: GUARD } as never },
    upstreams: { crm: up.handler('crm') },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [CRM_READ],
    openGuard: (config) => openGuardRuntime(config, { pollMs: 0 }),
  });
  // A second gateway replica over the same configuration: its own guard runtime, the same Redis.
  const config = {
    ...h.sts.config,
    gateway: { ...h.sts.config.gateway, listen: { host: '127.0.0.1', port: 0 }, routes: h.gw.gateway.routes },
  } as WarrantConfig;
  const guard = await openGuardRuntime(config, { pollMs: 0 });
  const decisions = new MemoryDecisionLog();
  const gw = await startGateway(config, {
    issuer: h.sts.plane.sts.issuer,
    keys: () => h.sts.plane.sts.keys.keySet(Math.floor(Date.now() / 1000)).resolve,
    decisions,
    catalog: new ActionCatalog([CRM_READ]),
    guard,
    logger: createLogger({ service: 'gateway', level: 'silent' }),
  });
  second = { gw, guard, decisions };
  planner = await untilAccepted(() => h.sts.agent('planner'));
});

after(async () => {
  await second?.gw.close();
  await second?.guard.close();
  await h?.close();
  await redis?.stop();
});

/** Calls gateway `gw` (the harness's, or the second) with a fresh DPoP proof. */
function call(
  gw: RunningGateway,
  agent: AgentClient,
  warrant: string,
  path = '/crm/contacts',
): Promise<Response> {
  const url = `${gw.url}${path}`;
  return fetch(url, {
    headers: { authorization: `DPoP ${warrant}`, dpop: agent.dpopProof('GET', url, warrant) },
  });
}

async function caller(name: string): Promise<{ agent: AgentClient; warrant: string }> {
  const agent = await untilAccepted(() => h.sts.agent(name, WIDE));
  const root = await untilAccepted(() =>
    rootWarrant(h, planner, agentIdOf(name), [{ action: 'tools:*', resource: `${TOOLS}/*` }]),
  );
  return { agent, warrant: await untilAccepted(() => hop(agent, root, CRM)) };
}

test(
  'a spike split across two gateways sharing Redis trips the same agent breaker; a reset clears it for both',
  BOUNDED,
  async () => {
    const { agent, warrant } = await caller('spiker');
    const [one, two] = [h.gw, second.gw];
    for (let i = 0; i < CAP; i++)
      assert.equal((await call(i % 2 === 0 ? one : two, agent, warrant)).status, 200);
    // Each gateway saw only half the cap: only the shared count trips.
    const hits = up.total;
    const from = second.decisions.records.length;
    const tripped = await call(two, agent, warrant);
    const body = await expectRefusal(tripped, {
      status: 429,
      error: 'too_many_requests',
      code: 'WARRANT_BREAKER_OPEN',
    });
    assert.match(String(body['error_description']), /7 calls in the current 60 s window \(cap 6\)/);
    assert.equal(tripped.headers.get('retry-after'), '300');
    const records = second.decisions.records.slice(from).filter((r) => r.kind === 'decision');
    assert.equal(records.length, 1);
    assert.equal(records[0]?.code, 'WARRANT_BREAKER_OPEN');
    const fromOne = h.decisions.records.length;
    assert.equal((await call(one, agent, warrant)).status, 429, 'the other gateway refuses too');
    expectDenyRecord(h, fromOne, 'WARRANT_BREAKER_OPEN');
    assert.equal(up.total, hits, 'nothing forwarded');

    // The STS admin API (its guard counts in the same Redis) closes it for every gateway at once.
    const listed = (await (await h.sts.admin('GET', '/breakers')).json()) as {
      counters: string;
      open: { key: string }[];
    };
    assert.equal(listed.counters, 'redis');
    assert.deepEqual(
      listed.open.map((b) => b.key),
      [`agent:${agentIdOf('spiker')}`],
    );
    const reset = await h.sts.admin('POST', '/breakers/reset', {
      key: `agent:${agentIdOf('spiker')}`,
      reason: 'spike explained',
    });
    assert.equal(reset.status, 200);
    assert.equal((await call(two, agent, warrant)).status, 200);
    assert.equal((await call(one, agent, warrant)).status, 200);
  },
);

test(
  'Redis gone: the guard fails closed with 503 WARRANT_HOT_STATE_UNAVAILABLE, nothing forwarded or recorded',
  BOUNDED,
  async () => {
    const { agent, warrant } = await caller('bystander');
    assert.equal((await call(h.gw, agent, warrant)).status, 200);
    await redis.kill();
    const hits = up.total;
    const from = h.decisions.records.length;
    const started = performance.now();
    const refused = await call(h.gw, agent, warrant);
    const ms = performance.now() - started;
    await expectRefusal(refused, {
      status: 503,
      error: 'unavailable',
      code: 'WARRANT_HOT_STATE_UNAVAILABLE',
      secrets: [warrant],
    });
    assert.ok(ms < 1500, `answered after ${ms.toFixed(0)} ms`);
    assert.equal(up.total, hits, 'nothing forwarded');
    expectNoRecord(h, from);
    // Not ready: its hot state (here only the guard's counters: the replay cache is in memory) is gone.
    const ready = await fetch(`${h.gw.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as Record<string, unknown>)['hotState'], false);
    // A gateway cannot even start its guard on a Redis that is gone.
    await assert.rejects(openGuardRuntime(h.sts.config, { pollMs: 0 }), {
      code: 'WARRANT_HOT_STATE_UNAVAILABLE',
    });
  },
);
