/**
 * Child process for the server benchmarks: the Warrant STS on loopback. For bench/sts.bench.ts it is the
 * server measured, over a durable store (an SQLite file in a temp dir, or PostgreSQL in a given schema); for
 * bench/gateway.bench.ts it issues the delegation chain and is what the gateway trusts (JWKS, status lists,
 * revocation feed), off the measured path, on an in-memory store.
 *
 * argv[2] is a JSON `StsServerSpec`. The child answers `{ type: 'ready', url }` over IPC, then the commands
 * of child.ts, plus `phases-reset` and `phases-get`: with `phases: true` it wraps the STS's store calls
 * and DPoP check with wall-clock timers, a coarse breakdown of where one request's time goes (meaningful
 * at concurrency 1); and `records-off` (an A/B row of bench/sts.bench.ts: tokens issued from then on are
 * not recorded).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { startControlPlane } from '../../src/runtime/control-plane.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/ports.ts';
import { bufferedDestination, createLogger } from '../../src/telemetry/index.ts';
import { childSpec, loopbackConfig, serveCommands } from './child.ts';

export interface StsServerSpec {
  /** An SQLite path (`:memory:` for none) or a PostgreSQL schema. */
  readonly store:
    | {
        kind: 'sqlite';
        path: string;
        synchronous?: 'full' | 'normal';
        checkpoints?: 'worker' | 'inline';
        commitSync?: 'thread-pool' | 'sqlite';
      }
    | { kind: 'postgres'; url: string; schema: string };
  readonly trustDomain: string;
  readonly dataDir: string;
  readonly adminToken: string;
  readonly personIssuer: { issuer: string; jwksFile: string; audience: string };
  /** Seconds a hop lives (default: the STS's own). */
  readonly hopLifetime?: number;
  readonly phases?: boolean;
}

export interface PhaseTotals {
  readonly [label: string]: {
    count: number;
    totalMs: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    over5ms: number;
  };
}

const spec = childSpec<StsServerSpec>();
const config = loopbackConfig(spec, 'sts', {
  warrantLifetime: 3600,
  ...(spec.hopLifetime === undefined ? {} : { hopLifetime: spec.hopLifetime }),
  trustedIssuers: [{ ...spec.personIssuer, kind: 'oidc' }],
});
const store: Store = await openStore(spec.store);
// Access lines are written as in production (info), to /dev/null: their cost is part of the STS figures
// (for the gateway bench this STS is off the measured path).
const plane = await startControlPlane(config, {
  adminToken: spec.adminToken,
  store,
  logger: createLogger({ service: 'sts', level: 'info', destination: bufferedDestination('/dev/null') }),
});

const phases: Record<string, { count: number; totalMs: number; maxMs: number; over5ms: number }> = {};
/** Every call's time, for the median. */
const samples: Record<string, number[]> = {};
function add(label: string, ms: number): void {
  let p = phases[label];
  if (p === undefined) {
    p = { count: 0, totalMs: 0, maxMs: 0, over5ms: 0 };
    phases[label] = p;
  }
  p.count++;
  p.totalMs += ms;
  samples[label] ??= [];
  samples[label].push(ms);
  if (ms > p.maxMs) p.maxMs = ms;
  if (ms > 5) p.over5ms++;
}
function timeAsync(target: object, name: string, label: string): void {
  const t = target as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = t[name]!.bind(target);
  t[name] = async (...args: unknown[]) => {
    const start = performance.now();
    try {
      return await original(...args);
    } finally {
      add(label, performance.now() - start);
    }
  };
}
if (spec.phases) {
  // Garbage collections in the window, by kind (incremental marking is spread over many slices, not one
  // pause): a pause between requests delays the next one's parsing, which no step timer sees.
  const GC_KINDS: Record<number, string> = {
    1: 'scavenge',
    2: 'mark-compact',
    4: 'incremental',
    8: 'weak callbacks',
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
      add(`GC pause: ${GC_KINDS[kind] ?? `kind ${kind}`}`, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  timeAsync(plane.sts, 'dpop', 'DPoP proof verify (+ memory jti cache)');
  timeAsync(store.agents, 'get', 'store: agents.get');
  timeAsync(store.replay, 'consume', 'store: replay.consume (client assertion jti)');
  timeAsync(store.tokens, 'isRevoked', 'store: tokens.isRevoked (parent)');
  timeAsync(store.statusLists, 'allocate', 'store: statusLists.allocate');
  timeAsync(store.tokens, 'record', 'store: tokens.record');
  timeAsync(plane.sts, 'mintWarrant', 'mintWarrant (allocate + sign + record)');
  timeAsync(store.tokens, 'revoke', 'store: tokens.revoke (cascade + status bits)');
  timeAsync(plane.sts, 'revoke', 'sts.revoke (store + revocation events)');
  const [handler] = plane.server.listeners('request') as ((req: unknown, res: unknown) => unknown)[];
  plane.server.removeAllListeners('request');
  plane.server.on('request', (req, res) => {
    const start = performance.now();
    res.once('finish', () =>
      add('whole request (headers parsed → response finished)', performance.now() - start),
    );
    handler!(req, res);
  });
}

serveCommands(
  { url: plane.url },
  {
    handle(command) {
      if (command.type === 'phases-reset') {
        for (const key of Object.keys(phases)) delete phases[key];
        for (const key of Object.keys(samples)) delete samples[key];
        return Promise.resolve({ type: 'ok' });
      }
      if (command.type === 'records-off') {
        // A/B only, never a product mode: from now on an issued token is not written to the store (the
        // exchange's other reads and writes stay), to show in the same run what the durable record costs.
        store.tokens.record = async (token) => ({ ...token, actors: [...token.actors] });
        return Promise.resolve({ type: 'ok' });
      }
      if (command.type === 'phases-get') {
        const totals: PhaseTotals = Object.fromEntries(
          Object.entries(phases).map(([label, p]) => {
            const sorted = samples[label]!.sort((a, b) => a - b);
            const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
            return [label, { ...p, p50Ms: at(0.5), p99Ms: at(0.99) }];
          }),
        );
        return Promise.resolve({ type: 'phases', phases: totals });
      }
      return undefined;
    },
    async stop() {
      await plane.close();
      await store.close();
    },
  },
);
