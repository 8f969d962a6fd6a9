/**
 * The guard's breakers and throttle per request (DESIGN §9 "guard step … ≤ 10 µs with memory counters;
 * Redis adds ≤ one round trip, pipelined"), beside baselines measured in the same run: one node:crypto
 * Ed25519 verification (the unit of the gateway path's CPU figures, bench/gateway.bench.ts) and one Redis
 * PING round trip on the same connection.
 *
 * Per request: `Breakers.check` (the check-breakers step: the call counted for its agent, txn and
 * agent→destination, their states read, the trip conditions evaluated) plus `throttle` for one
 * rate-limited action — the guard's work on the common path (a closed breaker; the observer does nothing
 * for a successful call). Memory counters in-process; Redis counters at c=1 (latency: round trips) and 32
 * requests in flight (what pipelining buys: cost per request at saturation).
 *   BENCH_MS=n   scales the windows; WARRANT_TEST_REDIS_URL (default redis://127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Breakers } from '../src/guard/breakers/breakers.ts';
import { BREAKER_DEFAULTS } from '../src/guard/breakers/settings.ts';
import { ActionCatalog } from '../src/guard/catalog.ts';
import type { Counters } from '../src/guard/counters/counters.ts';
import { MemoryCounters } from '../src/guard/counters/memory-counters.ts';
import { RedisCounters } from '../src/guard/counters/redis-counters.ts';
import { openGuardStore } from '../src/guard/store/open-guard-store.ts';
import { throttle } from '../src/guard/throttle.ts';
import { hotStateRedisOptions } from '../src/replay/redis-connection.ts';
import { CRM_READ } from '../test/support/catalog-actions.ts';
import { BENCH_MS, ed25519Verification, goal, measure, verdict } from './lib/measure.ts';

const REDIS_URL = process.env['WARRANT_TEST_REDIS_URL'] || 'redis://127.0.0.1:6379';
const ACTION = new ActionCatalog([{ ...CRM_READ, rateLimit: { requests: 1e8, perSeconds: 60 } }]).actions[0]!;

interface Row {
  readonly name: string;
  readonly micros: number;
}

/** Runs `fn` with `inFlight` requests outstanding until the window is spent; µs of wall time per request. */
async function measureAsync(
  fn: (i: number) => Promise<unknown>,
  inFlight: number,
  ms = BENCH_MS,
): Promise<number> {
  const warm = performance.now() + Math.min(200, ms / 4);
  let i = 0;
  while (performance.now() < warm) await fn(i++);
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await fn(i++);
        done++;
      }
    }),
  );
  return ((performance.now() - start) * 1000) / done;
}

/** One request's guard work: breakers (many agents and txns, as a gateway sees them) and one throttle. */
function guardStep(counters: Counters, breakers: Breakers): (i: number) => Promise<unknown> {
  const now = Math.floor(Date.now() / 1000);
  return async (i) => {
    const agent = `spiffe://bench/agent/a${i % 100}`;
    const check = await breakers.check(
      { agent, txn: `txn-${i % 1000}`, destination: 'https://crm' },
      now,
      'gateway:bench',
    );
    if (check.refusal) throw new Error(`bench tripped a breaker: ${check.refusal.reason}`);
    return throttle(counters, agent, [ACTION], now);
  };
}

export async function run(): Promise<void> {
  const store = await openGuardStore(
    { store: { kind: 'sqlite' }, dataDir: '/nonexistent' },
    { path: ':memory:' },
  );
  // Learning off: the bench's txns each touch one system; caps far above what the windows can reach.
  const settings = { ...BREAKER_DEFAULTS, maxCalls: { agent: 1e8, txn: 1e8, destination: 1e8 } };
  const ed = measure('node:crypto Ed25519 verify (raw)', ed25519Verification(Buffer.alloc(600, 1)));
  const rows: Row[] = [{ name: ed.name, micros: ed.microsPerOp }];
  const memory = new MemoryCounters();
  const memoryMicros = await measureAsync(guardStep(memory, new Breakers(memory, store, settings)), 1);
  rows.push({ name: 'guard (breakers + throttle), memory counters', micros: memoryMicros });

  let redisRows: { ping: number; c1: number; c32: number; commands: number } | undefined;
  const client = new Redis(REDIS_URL, {
    ...hotStateRedisOptions(),
    lazyConnect: true,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  // Commands sent = round trips on the request path (each batch is one script call).
  let sent = 0;
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<typeof send>) => {
    sent++;
    return send(...args);
  }) as typeof client.sendCommand;
  const prefix = `warrant:bench:${randomBytes(4).toString('hex')}:`;
  try {
    await client.connect();
    const redis = new RedisCounters(client, { prefix });
    const breakers = new Breakers(redis, store, settings);
    const ping = await measureAsync(() => client.ping(), 1);
    const step = guardStep(redis, breakers);
    const c1 = await measureAsync(step, 1);
    const c32 = await measureAsync(step, 32);
    // Steady state (every txn seen before): commands per request.
    sent = 0;
    for (let i = 0; i < 1000; i++) await step(i);
    redisRows = { ping, c1, c32, commands: sent / 1000 };
    rows.push(
      { name: 'Redis PING round trip (c=1)', micros: ping },
      { name: 'guard, Redis counters, c=1 (latency)', micros: c1 },
      { name: 'guard, Redis counters, 32 in flight (per request)', micros: c32 },
    );
  } catch (error) {
    console.log(
      `\nguard bench: Redis at ${REDIS_URL} not reachable, Redis rows skipped (${(error as Error).message})`,
    );
  } finally {
    if (client.status === 'ready') {
      const keys = await client.keys(`${prefix}*`);
      for (let i = 0; i < keys.length; i += 1000) await client.del(...keys.slice(i, i + 1000));
      await client.quit();
    } else client.disconnect();
    await store.close();
  }

  await budgetRows();

  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(
    '\nguard step per request (breakers: agent, txn, agent→destination; throttle: one limited action)',
  );
  console.log(`${'case'.padEnd(w)}  ${'µs/req'.padStart(9)}  ${'× Ed25519 verify'.padStart(16)}`);
  for (const r of rows)
    console.log(
      `${r.name.padEnd(w)}  ${r.micros.toFixed(2).padStart(9)}  ${(r.micros / ed.microsPerOp).toFixed(2).padStart(16)}`,
    );
  console.log(
    `goal: memory ≤ 10 µs per request: ${memoryMicros.toFixed(2)} µs ${verdict(memoryMicros <= 10)}`,
  );
  goal({
    figure: 'guard step per request, memory counters',
    goal: '≤ 10 µs',
    measured: `${memoryMicros.toFixed(2)} µs`,
    baseline: `Ed25519 verify ${ed.microsPerOp.toFixed(1)} µs (${(memoryMicros / ed.microsPerOp).toFixed(2)} ×)`,
    met: memoryMicros <= 10,
  });
  if (redisRows) {
    // Breakers: one batch (one script call); throttle: one more for a rate-limited action (it counts only
    // allowed calls, so it runs after the decision). A txn's first call adds one (the agent's txn count).
    const breakerTrips = redisRows.commands - 1;
    console.log(
      `goal: Redis adds ≤ one round trip (breakers): ${breakerTrips.toFixed(2)} command(s) per request for the breakers, +1 for the throttle ${verdict(breakerTrips <= 1)}; c=1 latency ${(redisRows.c1 / redisRows.ping).toFixed(2)} × a PING round trip`,
    );
    goal({
      figure: 'guard step, Redis round trips per request (breakers, pipelined)',
      goal: '≤ 1',
      measured: breakerTrips.toFixed(2),
      baseline: `c=1 ${redisRows.c1.toFixed(1)} µs = ${(redisRows.c1 / redisRows.ping).toFixed(2)} × a PING round trip (${redisRows.ping.toFixed(1)} µs)`,
      met: breakerTrips <= 1,
    });
  }
}

/**
 * Budget reservations on the SQLite guard store (a durable write on the gateway's request path when an
 * action has a budget), same run: commits fdatasynced on libuv's pool (WalSync, the default) vs SQLite's
 * own fsync inside COMMIT on the event loop. c=1 latency, and µs per reservation with 16 in flight (each
 * reservation its own transaction, as the gateway makes them; one fdatasync on the pool covers the commits
 * of every reservation that finished its transaction meanwhile).
 */
async function budgetRows(): Promise<void> {
  const { BudgetStore } = await import('../src/guard/budgets/budget-store.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { EventEmitter } = await import('node:events');
  const { countRequest } = await import('../src/core/load.ts');
  const dir = mkdtempSync(join(tmpdir(), 'warrant-bench-guard-'));
  const out: string[] = [];
  try {
    for (const commitSync of ['thread-pool', 'sqlite'] as const) {
      const store = await openGuardStore(
        { store: { kind: 'sqlite' }, dataDir: dir },
        { path: join(dir, `guard-${commitSync}.db`), commitSync },
      );
      try {
        const budgets = new BudgetStore(store.sql, store.changes);
        const now = Math.floor(Date.now() / 1000);
        const reserve = async (i: number) => {
          const r = await budgets.reserve(
            [{ budget: 'pay', key: `agent:a${i % 50}`, quantity: 1, limit: 1e12, mode: 'reserve' }],
            now,
          );
          if (!r.ok) throw new Error('bench budget refused');
        };
        const ms = Math.max(500, BENCH_MS);
        // As a gateway serving that many requests (src/core/load.ts decides inline vs thread pool by it).
        const serving = async (n: number, work: () => Promise<number>) => {
          const responses = Array.from({ length: n }, () => new EventEmitter());
          for (const r of responses) countRequest(r);
          try {
            return await work();
          } finally {
            for (const r of responses) r.emit('close');
          }
        };
        const c1 = await serving(1, () => measureAsync(reserve, 1, ms));
        const c16 = await serving(16, () => measureAsync(reserve, 16, ms));
        out.push(
          `  ${(commitSync === 'thread-pool' ? 'WAL fdatasync off the COMMIT (default)' : "SQLite's fsync inside COMMIT").padEnd(40)} c=1 ${c1.toFixed(0).padStart(5)} µs   16 in flight ${c16.toFixed(0).padStart(5)} µs per reservation`,
        );
      } finally {
        await store.close();
      }
    }
    console.log('\nbudget reservation on the SQLite guard store (durable before it resolves), same run:');
    for (const line of out) console.log(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
