/**
 * Health, readiness and Prometheus metrics of the gateway (DESIGN §7, §12): `/healthz` answers while the
 * process runs; `/readyz` only while the STS revocation feed delivers heartbeats and the replay cache
 * answers; `/metrics` counts decisions by
 * outcome, a latency histogram and cache hits and misses, matching the calls actually made.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { hop, rootWarrant, sleep, TOOLS, Upstreams, WIDE } from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

const up = new Upstreams();
let h: GatewayHarness;
let executor: AgentClient;
let root: string;
let leaf: string;

before(async () => {
  h = await startGatewayHarness({
    upstreams: { crm: up.handler('crm') },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [
      { name: 'tools:crm.read', match: { protocol: 'http', method: 'GET', path: '/crm/contacts*' }, ...low },
    ],
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'tools:*', resource: `${TOOLS}/*` },
  ]);
  leaf = await hop(executor, root, CRM);
});

after(() => h?.close());

/** The samples of the exposition text: `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const r = await fetch(`${h.gw.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await r.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    assert.ok(Number.isFinite(value), line);
    samples.set(line.slice(0, space), value);
  }
  return samples;
}

/** Polls `url` until it answers `status` (or gives up after `ms`); returns the last status. */
async function until(url: string, status: number, ms: number): Promise<number> {
  const end = Date.now() + ms;
  for (;;) {
    const got = (await fetch(url)).status;
    if (got === status || Date.now() > end) return got;
    await sleep(50);
  }
}

test('/healthz answers 200; /readyz answers 200 once the revocation feed is connected', async () => {
  const health = await fetch(`${h.gw.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  assert.equal(await until(`${h.gw.url}/readyz`, 200, 3000), 200);
  const ready = await fetch(`${h.gw.url}/readyz`);
  assert.deepEqual(await ready.json(), {
    ready: true,
    revocationFeed: true,
    hotState: true,
    ledger: true,
    guardStore: true,
  });
});

test('/metrics: decisions by outcome, a consistent latency histogram, cache hits rising on repeats', async () => {
  const before = await scrape();
  const chainHits = before.get('warrant_gateway_cache_hits_total{cache="presented"}') ?? 0;
  const chainMisses = before.get('warrant_gateway_cache_misses_total{cache="presented"}') ?? 0;

  // 3 allowed calls with the full chain (the first verifies it, the others find it cached)…
  for (let i = 0; i < 3; i++) {
    const r = await h.call(executor, leaf, `/crm/contacts/${i}`, { chain: [root, leaf] });
    assert.equal(r.status, 200, await r.text());
  }
  // …2 denied calls (an action the catalog does not know)…
  for (let i = 0; i < 2; i++) assert.equal((await h.call(executor, leaf, `/crm/exports/${i}`)).status, 403);
  // …1 call without credentials, and 1 to no route (not a decision, not timed).
  assert.equal((await fetch(`${h.gw.url}/crm/contacts/9`)).status, 401);
  assert.equal((await fetch(`${h.gw.url}/nowhere`)).status, 404);

  const m = await scrape();
  assert.equal(m.get('warrant_gateway_decisions_total{outcome="allow"}'), 3);
  assert.equal(m.get('warrant_gateway_decisions_total{outcome="deny"}'), 2);
  assert.equal(m.get('warrant_gateway_decisions_total{outcome="unauthenticated"}'), 1);
  // The recorded decisions agree with the counters.
  const recorded = h.decisions.records.filter((r) => r.kind === 'decision');
  assert.equal(recorded.filter((r) => r.decision === 'allow').length, 3);
  assert.equal(recorded.filter((r) => r.decision === 'deny').length, 2);

  // Histogram: cumulative buckets never decrease, +Inf equals the count, and every timed request is in it.
  const buckets = [...m]
    .filter(([name]) => name.startsWith('warrant_gateway_request_duration_ms_bucket{'))
    .map(([name, value]) => ({ le: name.match(/le="([^"]+)"/)![1]!, value }));
  assert.ok(buckets.length > 5);
  assert.equal(buckets.at(-1)!.le, '+Inf');
  for (let i = 1; i < buckets.length; i++) {
    assert.ok(Number(buckets[i]!.le) > Number(buckets[i - 1]!.le) || buckets[i]!.le === '+Inf', 'le ascends');
    assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `bucket le=${buckets[i]!.le} is cumulative`);
  }
  const count = m.get('warrant_gateway_request_duration_ms_count');
  assert.equal(buckets.at(-1)!.value, count);
  assert.equal(count, 3 + 2 + 1);
  assert.ok((m.get('warrant_gateway_request_duration_ms_sum') ?? 0) > 0);

  // The presented-chain cache: one miss for the first verification, hits for the repeats.
  const hits = m.get('warrant_gateway_cache_hits_total{cache="presented"}')!;
  const misses = m.get('warrant_gateway_cache_misses_total{cache="presented"}')!;
  assert.ok(misses > chainMisses, 'the first chain was a miss');
  // Two repeated chains, and the second of two calls presenting the same single warrant.
  assert.equal(hits - chainHits, 3, 'the repeats were hits');
  for (const cache of ['presented', 'chain', 'token', 'call', 'decision']) {
    assert.ok(m.has(`warrant_gateway_cache_hits_total{cache="${cache}"}`), cache);
    assert.ok(m.has(`warrant_gateway_cache_misses_total{cache="${cache}"}`), cache);
  }
  // Repeated identical decisions are answered from the decision cache.
  assert.ok(m.get('warrant_gateway_cache_hits_total{cache="call"}')! >= 1);
});

test('/readyz answers 503 once the STS (and its revocation feed) is gone; /healthz stays 200', async () => {
  await h.sts.plane.close();
  assert.equal(await until(`${h.gw.url}/readyz`, 503, 5000), 503);
  const r = await fetch(`${h.gw.url}/readyz`);
  assert.deepEqual(await r.json(), {
    ready: false,
    revocationFeed: false,
    hotState: true,
    ledger: true,
    guardStore: true,
  });
  assert.equal((await fetch(`${h.gw.url}/healthz`)).status, 200);
});
