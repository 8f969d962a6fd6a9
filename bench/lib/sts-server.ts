/**
 * Child process for bench/sts.bench.ts: the Warrant STS on loopback over a durable store (an SQLite file in
 * a temp dir, or PostgreSQL in a given schema), so the load generator never shares its event loop.
 *
 * argv[2] is a JSON `StsServerSpec`. The child answers `{ type: 'ready', url }` over IPC, then serves
 * `Command`s one at a time, answering each with one message.
 * With `phases: true` it wraps the STS's store calls and DPoP check with wall-clock timers: a coarse
 * breakdown of where one request's time goes (meaningful at concurrency 1). `profile-start`/`-stop` take a
 * V8 CPU profile of just the window between them (see bench/lib/cpuprofile-summary.ts).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigOverrides } from '../../src/config/types.ts';
import { startControlPlane } from '../../src/runtime/control-plane.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/ports.ts';
import { createLogger } from '../../src/telemetry/index.ts';

export interface StsServerSpec {
  readonly store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };
  readonly trustDomain: string;
  readonly dataDir: string;
  readonly adminToken: string;
  readonly personIssuer: { issuer: string; jwksFile: string; audience: string };
  readonly phases?: boolean;
}

export interface PhaseTotals {
  readonly [label: string]: { count: number; totalMs: number; maxMs: number; over5ms: number };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as StsServerSpec;
const config = loadConfig(undefined, {
  trustDomain: spec.trustDomain,
  dataDir: spec.dataDir,
  sts: {
    listen: { host: '127.0.0.1', port: 0 },
    warrantLifetime: 3600,
    trustedIssuers: [{ ...spec.personIssuer, kind: 'oidc' }],
  },
} as ConfigOverrides);
const store: Store = await openStore(spec.store);
// Access lines are written as in production (info), to /dev/null: their cost is part of the figures.
const plane = await startControlPlane(config, {
  adminToken: spec.adminToken,
  store,
  logger: createLogger({ service: 'sts', level: 'info', destination: pino.destination('/dev/null') }),
});

const phases: Record<string, { count: number; totalMs: number; maxMs: number; over5ms: number }> = {};
function add(label: string, ms: number): void {
  let p = phases[label];
  if (p === undefined) {
    p = { count: 0, totalMs: 0, maxMs: 0, over5ms: 0 };
    phases[label] = p;
  }
  p.count++;
  p.totalMs += ms;
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
  timeAsync(plane.sts, 'dpop', 'DPoP proof verify (+ memory jti cache)');
  timeAsync(store.agents, 'get', 'store: agents.get');
  timeAsync(store.replay, 'consume', 'store: replay.consume (client assertion jti)');
  timeAsync(store.tokens, 'isRevoked', 'store: tokens.isRevoked (parent)');
  timeAsync(store.statusLists, 'allocate', 'store: statusLists.allocate');
  timeAsync(store.tokens, 'record', 'store: tokens.record');
  timeAsync(plane.sts, 'mintWarrant', 'mintWarrant (allocate + sign + record)');
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

/** Requests from the benchmark, each answered with one message. */
type Command =
  | { type: 'phases-reset' }
  | { type: 'phases-get' }
  | { type: 'profile-start'; intervalMicros: number }
  | { type: 'profile-stop'; file: string }
  | { type: 'stop' };

let session: Session | undefined;
process.on('message', async (message: Command) => {
  switch (message.type) {
    case 'phases-reset':
      for (const key of Object.keys(phases)) delete phases[key];
      process.send!({ type: 'ok' });
      return;
    case 'phases-get':
      process.send!({ type: 'phases', phases });
      return;
    case 'profile-start':
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: message.intervalMicros });
      await session.post('Profiler.start');
      process.send!({ type: 'ok' });
      return;
    case 'profile-stop': {
      const { profile } = await session!.post('Profiler.stop');
      session!.disconnect();
      session = undefined;
      writeFileSync(message.file, JSON.stringify(profile));
      process.send!({ type: 'ok' });
      return;
    }
    case 'stop':
      await plane.close();
      await store.close();
      process.send!({ type: 'stopped' }, () => process.exit(0));
      return;
  }
});
process.send!({ type: 'ready', url: plane.url });
