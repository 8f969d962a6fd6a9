/**
 * Child process for bench/gateway.bench.ts: the Warrant gateway on the full path — DPoP proof (single-use
 * `jti`, in-memory replay cache), the presented 3-link chain (signatures, links, audience, holder key),
 * revocation status from the STS's status lists, catalog action, grants, risk and the shipped action policy
 * (Cedar), a durable decision record, then the forward to the upstream.
 *
 * The decision log is the one pluggable part: `openDecisionLog` builds it from the spec (`ledger`: the
 * Merkle ledger on SQLite in the data dir, the sink `warrant dev` gives its gateway; `file`: a JSON Lines
 * file with fdatasync group commit, the least a durable record can cost; `memory`: no durability, for
 * comparison), and it reaches the gateway as one constructor argument.
 *
 * argv[2] is a JSON `GatewayServerSpec`. Answers `{ type: 'ready', url }` over IPC, then the commands of
 * child.ts plus `ed25519` (CPU µs of one node:crypto Ed25519 verification, measured here) and
 * `fsync-probe` (latency of one small append + fdatasync in the decision log's directory: the floor any
 * durable-before-forward record puts under latency at c=1).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import type { WarrantConfig } from '../../src/config/types.ts';
import { requestsInFlight } from '../../src/core/load.ts';
import { startGateway } from '../../src/gateway/start-gateway.ts';
import { ActionCatalog } from '../../src/guard/catalog.ts';
import { type DecisionLog, FileDecisionLog, MemoryDecisionLog } from '../../src/ledger/decision-log.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { openLedger } from '../../src/ledger/open-ledger.ts';
import { bufferedDestination, createLogger } from '../../src/telemetry/index.ts';
import { CRM_CONTACTS_READ } from '../../test/support/catalog-actions.ts';
import { childSpec, loopbackConfig, serveCommands } from './child.ts';
import { fsyncProbe } from './fsync-probe.ts';
import { ed25519Verification } from './measure.ts';

export type DecisionLogSpec =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'memory' }
  /** The Merkle ledger on SQLite in the gateway's data dir, opened as `warrant dev` opens it. */
  | { readonly kind: 'ledger' };

export interface GatewayServerSpec {
  /** The STS (its JWKS, status lists and revocation feed). */
  readonly issuer: string;
  readonly trustDomain: string;
  readonly dataDir: string;
  /** Upstream base URL; the route `/crm` forwards to `<upstream>/crm/...`. */
  readonly upstream: string;
  /** The route's audience: the tool the chain's leaf is addressed to. */
  readonly audience: string;
  readonly decisions: DecisionLogSpec;
  /** Time each gateway step of the requests served one at a time (answers `steps-get`, `steps-reset`). */
  readonly steps?: boolean;
}

async function openDecisionLog(spec: DecisionLogSpec, config: WarrantConfig): Promise<DecisionLog> {
  switch (spec.kind) {
    case 'file':
      return new FileDecisionLog(spec.path);
    case 'memory':
      return new MemoryDecisionLog();
    case 'ledger':
      return await openLedger(config);
  }
}

/** CPU microseconds (this thread's process, user + system) per node:crypto Ed25519 verification (or signature). */
function ed25519VerifyMicros(
  ms: number,
  messageBytes = 512,
  op: 'verify' | 'sign' = 'verify',
): { cpuMicros: number; wallMicros: number } {
  const message = Buffer.alloc(messageBytes, 'eyJhbGciOiJFZERTQSJ9');
  const { privateKey } = generateKeyPairSync('ed25519');
  const verifyOnce =
    op === 'verify' ? ed25519Verification(message) : () => void sign(null, message, privateKey);
  for (let i = 0; i < 500; i++) verifyOnce();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) verifyOnce();
    n += 100;
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMicros: (cpu.user + cpu.system) / n, wallMicros: (wall * 1000) / n };
}

const spec = childSpec<GatewayServerSpec>();
const config = loopbackConfig(spec, 'gateway', {
  routes: [
    {
      match: { pathPrefix: '/crm' },
      upstream: `${spec.upstream.replace(/\/+$/, '')}/crm`,
      audience: spec.audience,
      protocol: 'http',
      signedBodies: false,
    },
  ],
});
const decisions = await openDecisionLog(spec.decisions, config);
// Step wall times (µs) of requests served one at a time: the c=1 path, not a saturation window's queueing.
const stepTimes = new Map<string, number[]>();
const stepTimer = spec.steps
  ? (step: string, micros: number) => {
      if (requestsInFlight.count > 1) return;
      const times = stepTimes.get(step);
      if (times === undefined) stepTimes.set(step, [micros]);
      else times.push(micros);
    }
  : undefined;
const gw = await startGateway(config, {
  issuer: spec.issuer,
  decisions,
  // The one action the benchmark calls.
  catalog: new ActionCatalog([CRM_CONTACTS_READ]),
  ...(stepTimer ? { stepTimer } : {}),
  // The gateway logs an access line per request, as in production (info, JSON, written asynchronously);
  // to /dev/null rather than the terminal the bench prints its figures on.
  logger: createLogger({
    service: 'gateway',
    level: 'info',
    destination: bufferedDestination('/dev/null'),
  }),
});

serveCommands(
  { url: gw.url },
  {
    server: gw.server,
    stats() {
      const g = gw.gateway;
      return {
        // A repeat presentation is answered by the presented-text cache (`texts`); `chains` and `tokens`
        // are consulted only when that misses, and the per-call decisions are in `callCache`.
        presentedHits: g.chainCache.texts.hits,
        presentedMisses: g.chainCache.texts.misses,
        chainHits: g.chainCache.chains.hits,
        chainMisses: g.chainCache.chains.misses,
        callHits: g.callCache.hits,
        callMisses: g.callCache.misses,
        decisionHits: g.decisionCache.hits,
        decisionMisses: g.decisionCache.misses,
        ...(decisions instanceof FileDecisionLog || decisions instanceof Ledger
          ? { logBatches: decisions.batches, logRecords: decisions.records }
          : {}),
      };
    },
    handle(command) {
      if (command.type === 'ed25519')
        return Promise.resolve({ type: 'ed25519', ...ed25519VerifyMicros(Number(command['ms'] ?? 300)) });
      if (command.type === 'ed25519-sign')
        return Promise.resolve({
          type: 'ed25519-sign',
          ...ed25519VerifyMicros(Number(command['ms'] ?? 300), 1200, 'sign'),
        });
      if (command.type === 'steps-reset') {
        stepTimes.clear();
        return Promise.resolve({ type: 'ok' });
      }
      if (command.type === 'steps-get')
        return Promise.resolve({ type: 'steps', steps: Object.fromEntries(stepTimes) });
      if (command.type === 'fsync-probe')
        return fsyncProbe(spec.dataDir, Number(command['n'] ?? 200)).then((ms) => ({ type: 'fsync', ms }));
      return undefined;
    },
    async stop() {
      await gw.close();
      await decisions.close();
    },
  },
);
