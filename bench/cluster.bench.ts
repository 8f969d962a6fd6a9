/**
 * Scale-out (issue 14): a real local cluster — control planes (`warrant serve`) and gateways (`warrant
 * gateway`) as processes started by the cluster launcher, on their own PostgreSQL (initdb, own port) and
 * Redis (own port) — measured twice in the same run:
 *   - throughput: allowed calls per second through the gateways under a closed loop of CLIENTS concurrent
 *     callers (each call a fresh DPoP proof, a verified warrant, a durable decision record, a forwarded
 *     request), on 1 control plane + 1 gateway (the one-gateway-process baseline) and on 2 + 2; the ratio is
 *     the figure. This machine has two cores shared with the load generator and PostgreSQL: the point is
 *     correctness under replication and the shape (no loss, no refusal), not a speed-up;
 *   - revocation visibility across replicas: a warrant revoked at control plane 1 (admin API), the time until
 *     each gateway refuses it (polled every 20 ms), beside the staleness bound that caps it without the push.
 * Needs `initdb`/`pg_ctl` and `redis-server` on the PATH (as the fault tests). About a minute.
 */
import { tokenHash } from '../src/core/jose/hash.ts';
import { type ClusterWorld, startClusterWorld } from '../test/support/cluster-world.ts';
import { BENCH_MS } from './lib/measure.ts';

const CLIENTS = 8;
const WINDOW_MS = Math.max(3000, 3 * BENCH_MS);
const BOUND_S = 3;
const ROUNDS = 5;

async function throughput(world: ClusterWorld): Promise<{ perSecond: number; refused: number }> {
  const agent = await world.agent(`bench-${Date.now()}`);
  const warrant = await world.warrant(agent);
  const gateways = world.cluster.members.filter((m) => m.role === 'gateway').map((m) => m.url);
  // Warm-up: connections, caches, the first status list.
  for (const g of gateways) await (await world.call(g, agent, warrant)).arrayBuffer();
  let ok = 0;
  let refused = 0;
  const end = performance.now() + WINDOW_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const r = await world.call(gateways[(c + i) % gateways.length]!, agent, warrant);
        await r.arrayBuffer();
        if (r.status === 200) ok++;
        else refused++;
      }
    }),
  );
  return { perSecond: ok / ((performance.now() - started) / 1000), refused };
}

async function visibility(world: ClusterWorld): Promise<number[]> {
  const gateways = world.cluster.members.filter((m) => m.role === 'gateway');
  const cp1 = world.cluster.members.find((m) => m.name === 'cp-1')!;
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const agent = await world.agent(`rev-${round}-${Date.now()}`);
    const warrant = await world.warrant(agent);
    for (const g of gateways) await (await world.call(g.url, agent, warrant)).arrayBuffer();
    const t0 = performance.now();
    const r = await world.admin('POST', '/revoke', { hash: tokenHash(warrant) }, cp1.url);
    if (r.status !== 200) throw new Error(`revoke answered ${r.status}`);
    await Promise.all(
      gateways.map(async (g) => {
        for (;;) {
          const answer = await world.call(g.url, agent, warrant);
          const body = (await answer.json().catch(() => ({}))) as { code?: string };
          if (body.code === 'WARRANT_TOKEN_REVOKED') break;
          if (performance.now() - t0 > 30_000) throw new Error(`${g.name} never refused the revoked warrant`);
          await new Promise((r) => setTimeout(r, 20));
        }
        times.push(performance.now() - t0);
      }),
    );
  }
  return times.sort((a, b) => a - b);
}

async function withCluster<T>(replicas: number, fn: (world: ClusterWorld) => Promise<T>): Promise<T> {
  const world = await startClusterWorld({
    replicas,
    config: { gateway: { statusStalenessSeconds: BOUND_S } },
  });
  try {
    return await fn(world);
  } finally {
    await world.close();
  }
}

export async function run(): Promise<void> {
  console.log(`\ncluster (processes on own PostgreSQL + Redis; ${CLIENTS} callers, ${WINDOW_MS} ms windows)`);
  const one = await withCluster(1, throughput);
  console.log(
    `  1 control plane + 1 gateway (baseline): ${one.perSecond.toFixed(0)} allowed calls/s, ${one.refused} refused`,
  );
  const { two, times } = await withCluster(2, async (world) => ({
    two: await throughput(world),
    times: await visibility(world),
  }));
  console.log(
    `  2 control planes + 2 gateways: ${two.perSecond.toFixed(0)} allowed calls/s, ${two.refused} refused; ` +
      `ratio to 1 + 1: ${(two.perSecond / one.perSecond).toFixed(2)}× (2 cores shared with the load and PostgreSQL)`,
  );
  const median = times[Math.floor(times.length / 2)]!;
  console.log(
    `  revocation at cp-1 refused at both gateways: median ${median.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms ` +
      `over ${times.length} (gateway, round) pairs (bound without the push: ${BOUND_S * 1000} ms + a status pull)`,
  );
}
