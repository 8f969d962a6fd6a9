/**
 * Prometheus metrics of one server: a prom-client registry per server with the process and Node runtime
 * metrics (CPU, memory, heap, event-loop lag, GC) and the named instruments of the gateway, the STS,
 * the ledger and the hot state, all prefixed `warrant_`. Each group of instruments is registered the
 * first time it is read (`metrics.gateway`, `metrics.sts`, …), so a server exposes only the groups it
 * uses: hand the group to its component at start-up. docs/operations.md lists every name.
 *
 * Label values come from code or configuration, never from a request: grant types outside the known
 * ones count as `other`, codes outside the error registry as `other`.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import packageJson from '../../package.json' with { type: 'json' };
import { ERROR_CODES } from '../core/errors.ts';
import { GRANT_TYPE } from '../core/tokens/token-types.ts';
import { FastCounter, FastHistogram } from './instruments.ts';

/** Cache figures as the caches keep them (ChainCache, DecisionCache, …). */
export type CacheCounts = Readonly<Record<string, { readonly hits: number; readonly misses: number }>>;

export interface GatewayMetrics {
  /** A decision (`allow`, `deny`, `approval_required`, `contained`, `unauthenticated`); `code` when refused. */
  decision(outcome: string, code?: string): void;
  /** A request's duration from `startedNs` (`process.hrtime.bigint()` at arrival) to its answer. */
  observe(startedNs: bigint, route?: string, outcome?: string): void;
  /** Where the cache hit and miss counts are read at each scrape (the gateway's caches). */
  readCaches(read: () => CacheCounts): void;
}

export type ExchangeOutcome = 'issued' | 'refused' | 'error';

export type RevocationKind = 'token' | 'txn' | 'agent' | 'person' | 'policy' | 'complete';

export interface StsMetrics {
  /** One `/token` request: its grant type (as sent), outcome, start time and, when refused, the code. */
  exchange(grantType: string, outcome: ExchangeOutcome, startedNs: bigint, code?: string): void;
  /** One revocation and the number of warrants it revoked (the root and every descendant). */
  revoked(kind: RevocationKind, cascadeSize: number): void;
}

export interface LedgerMetrics {
  /** One committed batch: its number of records and the commit duration from `startedNs`. */
  committed(records: number, startedNs: bigint): void;
  /** A signed checkpoint covering `treeSize` records. */
  checkpoint(treeSize: number): void;
}

export interface HotStateMetrics {
  /** A failed hot-state (Redis) operation: `operation` names it (`replay`, `publish`, `counter`, …). */
  error(operation: string): void;
}

export interface Metrics {
  readonly service: string;
  readonly registry: Registry;
  readonly gateway: GatewayMetrics;
  readonly sts: StsMetrics;
  readonly ledger: LedgerMetrics;
  readonly hotState: HotStateMetrics;
  /** The exposition text for `/metrics` and its content type (text format 0.0.4). */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/** Short label values for the grant types of `/token`; anything else is `other`. */
const GRANT_TYPES: Readonly<Record<string, string>> = {
  [GRANT_TYPE.clientCredentials]: 'client_credentials',
  [GRANT_TYPE.jwtBearer]: 'jwt-bearer',
  [GRANT_TYPE.tokenExchange]: 'token-exchange',
};

const SECONDS_FAST = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const LEGACY_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000];
const COMMIT_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const COUNT_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

function codeLabel(code: string | undefined): string {
  return code !== undefined && Object.hasOwn(ERROR_CODES, code) ? code : 'other';
}

function secondsSince(startedNs: bigint): number {
  return Number(process.hrtime.bigint() - startedNs) / 1e9;
}

/** The registry of one server (`sts`, `gateway`, `dev`, …), with the process and runtime metrics. */
export function createMetrics(service: string): Metrics {
  if (typeof service !== 'string' || service === '')
    throw new TypeError('createMetrics: service must be a non-empty string');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'warrant_' });
  new Gauge({
    name: 'warrant_build_info',
    help: 'The Warrant version and the server kind; always 1.',
    labelNames: ['service', 'version'],
    registers: [registry],
  }).set({ service, version: packageJson.version }, 1);

  let gateway: GatewayMetrics | undefined;
  let sts: StsMetrics | undefined;
  let ledger: LedgerMetrics | undefined;
  let hotState: HotStateMetrics | undefined;
  return {
    service,
    registry,
    get gateway() {
      gateway ??= gatewayMetrics(registry);
      return gateway;
    },
    get sts() {
      sts ??= stsMetrics(registry);
      return sts;
    },
    get ledger() {
      ledger ??= ledgerMetrics(registry);
      return ledger;
    },
    get hotState() {
      hotState ??= hotStateMetrics(registry);
      return hotState;
    },
    async render() {
      // prom-client writes `Nan` for the event-loop figures of an interval with no sample yet; such a
      // sample says nothing, so it is left out (the family stays, with no sample this time).
      const body = (await registry.metrics()).replace(/^[^#\n][^\n]* Nan\n/gm, '');
      return { contentType: registry.contentType, body };
    },
  };
}

function gatewayMetrics(registry: Registry): GatewayMetrics {
  const decisions = new FastCounter(
    registry,
    'warrant_gateway_decisions_total',
    'Gateway decisions by outcome.',
    ['outcome'],
  );
  const refusals = new FastCounter(
    registry,
    'warrant_gateway_refusals_total',
    'Gateway refusals by outcome and Warrant error code.',
    ['outcome', 'code'],
  );
  const duration = new FastHistogram(
    registry,
    'warrant_gateway_request_duration_seconds',
    'Time from request to response start or refusal, by route and outcome.',
    SECONDS_FAST,
    ['route', 'outcome'],
  );
  const legacyDuration = new FastHistogram(
    registry,
    'warrant_gateway_request_duration_ms',
    'Time from request to response start or refusal, in milliseconds (deprecated: use warrant_gateway_request_duration_seconds).',
    LEGACY_MS,
  );
  let caches: () => CacheCounts = () => ({});
  const cacheCounter = (which: 'hits' | 'misses') =>
    new Counter({
      name: `warrant_gateway_cache_${which}_total`,
      help: `Cache ${which} by cache.`,
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [cache, counts] of Object.entries(caches())) this.inc({ cache }, counts[which]);
      },
    });
  cacheCounter('hits');
  cacheCounter('misses');
  return {
    decision(outcome, code) {
      decisions.inc(outcome);
      if (code !== undefined) refusals.inc(outcome, codeLabel(code));
    },
    observe(startedNs, route = 'none', outcome = 'none') {
      const seconds = secondsSince(startedNs);
      duration.observe(seconds, route, outcome);
      legacyDuration.observe(seconds * 1000);
    },
    readCaches(read) {
      caches = read;
    },
  };
}

function stsMetrics(registry: Registry): StsMetrics {
  const exchanges = new FastCounter(
    registry,
    'warrant_sts_exchanges_total',
    'Token requests at /token by grant type and outcome (issued, refused, error).',
    ['grant_type', 'outcome'],
  );
  const refusals = new FastCounter(
    registry,
    'warrant_sts_refusals_total',
    'Token requests refused or failed, by grant type and Warrant error code.',
    ['grant_type', 'code'],
  );
  const duration = new FastHistogram(
    registry,
    'warrant_sts_exchange_duration_seconds',
    'Time to answer a token request, by grant type and outcome.',
    SECONDS_FAST,
    ['grant_type', 'outcome'],
  );
  const revocations = new FastCounter(
    registry,
    'warrant_revocations_total',
    'Revocations by kind (token, txn, agent, person, policy, complete).',
    ['kind'],
  );
  const cascade = new FastHistogram(
    registry,
    'warrant_revocation_cascade_size',
    'Warrants revoked by one revocation (the root and its descendants), by kind.',
    COUNT_BUCKETS,
    ['kind'],
  );
  return {
    exchange(grantType, outcome, startedNs, code) {
      const grant = Object.hasOwn(GRANT_TYPES, grantType) ? GRANT_TYPES[grantType]! : 'other';
      exchanges.inc(grant, outcome);
      duration.observe(secondsSince(startedNs), grant, outcome);
      if (outcome !== 'issued') refusals.inc(grant, codeLabel(code));
    },
    revoked(kind, cascadeSize) {
      revocations.inc(kind);
      cascade.observe(cascadeSize, kind);
    },
  };
}

function ledgerMetrics(registry: Registry): LedgerMetrics {
  const appended = new FastCounter(
    registry,
    'warrant_ledger_records_appended_total',
    'Ledger records made durable.',
  );
  const batchSize = new FastHistogram(
    registry,
    'warrant_ledger_batch_size',
    'Records per committed batch (group commit).',
    BATCH_BUCKETS,
  );
  const commit = new FastHistogram(
    registry,
    'warrant_ledger_commit_duration_seconds',
    'Time to make one batch durable.',
    COMMIT_SECONDS,
  );
  const checkpoints = new FastCounter(registry, 'warrant_ledger_checkpoints_total', 'Signed checkpoints.');
  const checkpointSize = new Gauge({
    name: 'warrant_ledger_checkpoint_size',
    help: 'Records covered by the latest signed checkpoint (its tree size).',
    registers: [registry],
  });
  return {
    committed(records, startedNs) {
      appended.add(records);
      batchSize.observe(records);
      commit.observe(secondsSince(startedNs));
    },
    checkpoint(treeSize) {
      checkpoints.inc();
      checkpointSize.set(treeSize);
    },
  };
}

function hotStateMetrics(registry: Registry): HotStateMetrics {
  const errors = new FastCounter(
    registry,
    'warrant_hot_state_errors_total',
    'Failed hot-state (Redis) operations, by operation.',
    ['operation'],
  );
  return {
    error(operation) {
      errors.inc(operation);
    },
  };
}
