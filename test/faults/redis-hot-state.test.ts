/**
 * Faults of the shared hot state (Redis) under a gateway and an STS that use it for DPoP and client-
 * assertion replay — on a Redis of the test's own (non-persistent, killed with `kill -9`, paused with
 * `SIGSTOP`, restarted empty on the same port):
 *
 * - Redis down or hanging: a fast refusal with its own code and 503 (the STS: OAuth
 *   `temporarily_unavailable`), nothing forwarded, recorded or issued; `/readyz` says not ready on both;
 *   recovery is automatic when Redis is back.
 * - Redis restarted empty: a DPoP proof or client assertion captured before the restart is refused
 *   (WARRANT_REPLAY_STATE_LOST), not accepted a second time; fresh ones are accepted again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import {
  claimsOf,
  expectNoRecord,
  expectRefusal,
  hop,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from '../gateway/rejections-support.ts';
import { CRM_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { OwnRedis } from '../support/redis-server.ts';
import { agentIdOf } from '../support/sts-harness.ts';

const CRM = `${TOOLS}/crm`;
/** A refusal for a store that is down or hanging comes within this (the command timeout is 500 ms). */
const FAST_MS = 1500;
/** Each test is bounded and stops itself. */
const BOUNDED = { timeout: 30_000 };

const up = new Upstreams();
let redis: OwnRedis;
let h: GatewayHarness;
let executor: AgentClient;
let root: string;
let leaf: string;

/** Retries `attempt` while the replay store refuses identifiers made before it (re)started. */
async function untilAccepted<T>(attempt: () => Promise<T>, ms = 12_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'WARRANT_REPLAY_STATE_LOST' || Date.now() > end) throw error;
      await sleep(250);
    }
  }
}

/** Calls the gateway with fresh proofs until one is accepted; every refusal meanwhile is the memory loss. */
async function untilCallAccepted(ms = 12_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await h.call(executor, leaf, '/crm/contacts');
    if (r.status === 200) return;
    const body = (await r.json()) as { code?: string };
    assert.equal(body.code, 'WARRANT_REPLAY_STATE_LOST', `status ${r.status}`);
    assert.ok(Date.now() < end, 'a fresh proof is accepted again');
    await sleep(250);
  }
}

async function ready(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function until(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    assert.ok(Date.now() < end, what);
    await sleep(100);
  }
}

const exchangeParams = () => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: root,
  subject_token_type: TOKEN_TYPES.warrant,
  audience: CRM,
  requested_token_type: TOKEN_TYPES.warrant,
});

const issuedInTxn = async (): Promise<number> =>
  (await h.sts.plane.store.tokens.listByTxn(claimsOf(root)['txn'] as string)).length;

before(async () => {
  redis = await OwnRedis.start();
  h = await startGatewayHarness({
    sts: { overrides: { redis: { url: redis.url } } },
    overrides: { gateway: { replayCache: 'redis' } },
    upstreams: { crm: up.handler('crm') },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [CRM_READ],
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  // A Redis that has just started: identifiers made in its first seconds are refused (the loss is dated at
  // its start), so the first exchanges are retried.
  root = await untilAccepted(() =>
    rootWarrant(h, planner, agentIdOf('executor'), [{ action: 'tools:*', resource: `${TOOLS}/*` }]),
  );
  leaf = await untilAccepted(() => hop(executor, root, CRM));
  await untilCallAccepted();
});

after(async () => {
  await h?.close();
  await redis?.stop();
});

test(
  'Redis killed: a fast 503 WARRANT_HOT_STATE_UNAVAILABLE at the gateway and the STS, not ready; back on its own',
  BOUNDED,
  async (t) => {
    await redis.kill();

    // Gateway: refused at once, nothing forwarded, nothing recorded.
    const records = h.decisions.records.length;
    const hits = up.total;
    let started = performance.now();
    const refused = await h.call(executor, leaf, '/crm/contacts');
    const gatewayMs = performance.now() - started;
    await expectRefusal(refused, {
      status: 503,
      error: 'unavailable',
      code: 'WARRANT_HOT_STATE_UNAVAILABLE',
      secrets: [leaf],
    });
    assert.ok(gatewayMs < FAST_MS, `gateway answered after ${gatewayMs.toFixed(0)} ms`);
    assert.equal(up.total, hits, 'nothing forwarded');
    expectNoRecord(h, records);
    const gwReady = await ready(h.gw.url);
    assert.equal(gwReady.status, 503);
    assert.equal(gwReady.body['hotState'], false);

    // STS: an exchange is refused at once with a 503 OAuth error, nothing issued.
    const issued = await issuedInTxn();
    started = performance.now();
    const response = await executor.post('/token', exchangeParams(), { dpop: true });
    const stsMs = performance.now() - started;
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '1');
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body['error'], 'temporarily_unavailable');
    assert.equal(body['code'], 'WARRANT_HOT_STATE_UNAVAILABLE');
    assert.equal(body['access_token'], undefined);
    assert.ok(stsMs < FAST_MS, `STS answered after ${stsMs.toFixed(0)} ms`);
    assert.equal(await issuedInTxn(), issued, 'nothing issued');
    assert.deepEqual(await ready(h.sts.url), {
      status: 503,
      body: { ready: false, store: true, hotState: false },
    });
    t.diagnostic(`refused in ${gatewayMs.toFixed(0)} ms (gateway), ${stsMs.toFixed(0)} ms (STS)`);

    // Redis comes back (empty): readiness and service return without a restart of either.
    await redis.restart();
    await until(async () => (await ready(h.gw.url)).status === 200, 8000, 'the gateway is ready again');
    await until(async () => (await ready(h.sts.url)).status === 200, 8000, 'the STS is ready again');
    assert.deepEqual((await ready(h.sts.url)).body, { ready: true, store: true, hotState: true });
    await untilCallAccepted();
    const child = await untilAccepted(() => hop(executor, root, CRM));
    assert.ok(child, 'the STS issues again');
  },
);

test(
  'Redis hanging (SIGSTOP): refused after the command timeout, not held; accepted again when it answers',
  BOUNDED,
  async () => {
    redis.pause();
    try {
      const hits = up.total;
      let started = performance.now();
      await expectRefusal(await h.call(executor, leaf, '/crm/contacts'), {
        status: 503,
        error: 'unavailable',
        code: 'WARRANT_HOT_STATE_UNAVAILABLE',
      });
      const gatewayMs = performance.now() - started;
      assert.ok(gatewayMs >= 400 && gatewayMs < FAST_MS, `gateway answered after ${gatewayMs.toFixed(0)} ms`);
      assert.equal(up.total, hits);
      assert.equal((await ready(h.gw.url)).status, 503);

      started = performance.now();
      const response = await executor.post('/token', exchangeParams(), { dpop: true });
      const stsMs = performance.now() - started;
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { code?: string }).code, 'WARRANT_HOT_STATE_UNAVAILABLE');
      assert.ok(stsMs < FAST_MS, `STS answered after ${stsMs.toFixed(0)} ms`);
      assert.equal((await ready(h.sts.url)).status, 503);
    } finally {
      redis.resume();
    }
    // Nothing was lost: the next call and exchange are accepted at once.
    const r = await h.call(executor, leaf, '/crm/contacts');
    assert.equal(r.status, 200);
    await r.body?.cancel();
    assert.ok(await hop(executor, root, CRM));
    await until(async () => (await ready(h.gw.url)).status === 200, 5000, 'the gateway is ready again');
  },
);

test(
  'Redis restarted empty: a captured DPoP proof and client assertion are refused (WARRANT_REPLAY_STATE_LOST), not accepted again',
  BOUNDED,
  async () => {
    const url = `${h.gw.url}/crm/contacts`;
    const proof = executor.dpopProof('GET', url, leaf);
    const send = () => fetch(url, { headers: { authorization: `DPoP ${leaf}`, dpop: proof } });
    const first = await send();
    assert.equal(first.status, 200);
    await first.body?.cancel();
    await expectRefusal(await send(), {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_REPLAYED',
    });

    const assertion = executor.clientAssertion();
    const introspect = () =>
      fetch(`${h.sts.url}/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: leaf,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      });
    assert.equal((await introspect()).status, 200);
    const replayed = await introspect();
    assert.equal(replayed.status, 401);
    assert.equal(((await replayed.json()) as { code?: string }).code, 'WARRANT_ASSERTION_REPLAYED');

    await redis.restart();
    await until(async () => (await ready(h.gw.url)).body['hotState'] === true, 8000, 'reconnected');

    // The records are gone with Redis's memory, but the replay stores know it: both are refused.
    const records = h.decisions.records.length;
    const hits = up.total;
    await expectRefusal(await send(), {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_REPLAY_STATE_LOST',
      secrets: [leaf, proof],
    });
    assert.equal(up.total, hits, 'nothing forwarded');
    expectNoRecord(h, records);
    const again = await introspect();
    assert.equal(again.status, 401);
    const body = (await again.json()) as Record<string, unknown>;
    assert.equal(body['error'], 'invalid_client');
    assert.equal(body['code'], 'WARRANT_REPLAY_STATE_LOST');
    assert.equal(body['active'], undefined, 'nothing was introspected');

    // Fresh proofs and assertions are accepted again once past the proof window's tolerance.
    await untilCallAccepted();
    const fresh = await untilAccepted(async () => {
      const r = await executor.post('/introspect', { token: leaf });
      const json = (await r.json()) as { active?: boolean; code?: string };
      if (r.status !== 200) throw Object.assign(new Error(`introspect ${r.status}`), { code: json.code });
      return json;
    });
    assert.equal(fresh.active, true);
  },
);
