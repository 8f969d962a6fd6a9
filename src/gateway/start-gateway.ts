import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { GatewayConfig, WarrantConfig } from '../config/types.ts';
import { ConfigError, WarrantError } from '../core/errors.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import { Peers } from '../federation/peers.ts';
import { ActionCatalog } from '../guard/catalog.ts';
import type { GuardRuntime } from '../guard/runtime.ts';
import { listen, reloadableTls } from '../http/listen.ts';
import { answersWithin } from '../http/probe.ts';
import type { DecisionLog } from '../ledger/decision-log.ts';
import { openLedger } from '../ledger/open-ledger.ts';
import {
  DEFAULT_POLICY_FILES,
  DEFAULT_SCHEMA_FILE,
  loadPolicyFiles,
  type PolicySet,
} from '../policy/index.ts';
import { MemoryReplayCache, RedisReplayCache, type ReplayCache, redisTimeouts } from '../replay/index.ts';
import { activationDelaySeconds } from '../sts/key-refresh.ts';
import {
  createLogger,
  createMetrics,
  createTracing,
  type Logger,
  logError,
  type Metrics,
  type Tracing,
} from '../telemetry/index.ts';
import { RemoteKeys } from '../verify/remote-keys.ts';
import { RevocationView } from '../verify/revocation-view.ts';
import { TXN_TOKEN_JWKS_PATH } from '../verify/txn-token.ts';
import { Gateway } from './gateway.ts';
import { loadOrCreateTxnTokenKey } from './txn-token-key.ts';

export interface RunningGateway {
  readonly url: string;
  readonly gateway: Gateway;
  /** A node:https server when `gateway.tls` is set, else node:http. */
  readonly server: Server | HttpsServer;
  readonly revocation: RevocationView;
  /** Re-reads `gateway.tls`'s files (SIGHUP; the files are also watched). `false`: kept the old ones. */
  reloadTls(): boolean;
  close(): Promise<void>;
}

export interface GatewayStartOptions {
  /** The STS issuer (URL); its JWKS, status lists and revocation feed are used. */
  readonly issuer: string;
  /** In-process key set (warrant dev); otherwise the issuer's JWKS is fetched. */
  readonly keys?: () => KeyResolver;
  readonly decisions?: DecisionLog;
  readonly catalog?: ActionCatalog;
  readonly policy?: PolicySet;
  readonly replay?: ReplayCache;
  /** The guard's store and parts (src/guard/runtime.ts); absent: no guard state (every agent at level 0). */
  readonly guard?: GuardRuntime;
  readonly clock?: () => number;
  /** Default `createLogger({service: 'gateway'})`: JSON lines on stdout at `--log-level` / `LOG_LEVEL`. */
  readonly logger?: Logger;
  /** Default a new `createMetrics('gateway')`. */
  readonly metrics?: Metrics;
  /** Default `createTracing({service: 'gateway'})`: off unless the `OTEL_*` environment turns it on. */
  readonly tracing?: Tracing;
  /** See `GatewayOptions.stepTimer` (benchmarks); default none. */
  readonly stepTimer?: (step: string, micros: number) => void;
}

/** The per-call action policy: the configured file, or the shipped defaults. */
export function loadActionPolicy(config: WarrantConfig): PolicySet {
  const files = config.policy.action ? [config.policy.action] : [...DEFAULT_POLICY_FILES];
  return loadPolicyFiles(files, config.policy.schema ?? DEFAULT_SCHEMA_FILE, { name: 'action' });
}

/** The gateway (data plane) as a server: routes from the configuration, health, readiness and metrics. */
export async function startGateway(
  config: WarrantConfig,
  options: GatewayStartOptions,
): Promise<RunningGateway> {
  // Certificate files and timeouts are checked first, so a bad listener setup starts nothing.
  const listener = listenerOptions(config.gateway);
  // So is the action catalog: a bad entry is named before anything is contacted or opened.
  const catalog =
    options.catalog ??
    (config.guard.catalog ? ActionCatalog.fromFile(config.guard.catalog) : new ActionCatalog([]));
  // Budgets are kept in the guard store: configured without one, the gateway could not enforce them.
  if ((config.guard?.budgets?.length ?? 0) > 0 && options.guard === undefined)
    throw new WarrantError(
      'WARRANT_BUDGET_UNAVAILABLE',
      'guard.budgets is configured, but this gateway has no guard store to keep the spent amounts in',
    );
  // So are the logger and the tracing environment: a bad LOG_LEVEL or OTEL_* value starts nothing.
  const logger = options.logger ?? createLogger({ service: 'gateway' });
  const tracing = options.tracing ?? (await createTracing({ service: 'gateway' }));
  const metrics = options.metrics ?? createMetrics('gateway');
  const issuer = options.issuer.replace(/\/+$/, '');
  let keys = options.keys;
  let remote: RemoteKeys | undefined;
  let rereads: { stop(): void } | undefined;
  if (!keys) {
    remote = new RemoteKeys(issuer);
    await remote.refresh();
    keys = () => remote!.resolve;
    // Several STS replicas publish a rotated key before it signs: re-read within that delay (sts.ts).
    const delay = activationDelaySeconds(config);
    if (delay > 0) rereads = remote.every(Math.max(500, Math.floor((delay * 1000) / 3)));
  }
  const revocation = new RevocationView({
    issuer,
    keys,
    stalenessSeconds: config.gateway.statusStalenessSeconds,
    // A pushed revocation outlives every token it can name by a minute of clock skew, then is pruned.
    pushedTtlSeconds:
      Math.max(config.sts.identityTokenLifetime, config.sts.warrantLifetime, config.sts.hopLifetime) + 60,
  });
  await revocation.start();
  // Trusted peers (DESIGN §11): their keys, limits and revocation status, for chains that cross in.
  const peers = new Peers(config.federation);
  await peers.start();
  // Decisions go to the Merkle ledger (durable before forwarding) unless the caller brings its own log.
  const decisions = options.decisions ?? (await openLedger(config));

  const replay =
    options.replay ??
    (config.gateway.replayCache === 'redis' && config.redis
      ? new RedisReplayCache(config.redis.url, redisTimeouts(config))
      : new MemoryReplayCache());
  const gateway = new Gateway({
    id: config.gateway.id ?? `gw-${randomBytes(4).toString('hex')}`,
    issuer,
    keys,
    revocation,
    ...(peers.size > 0 ? { peers } : {}),
    replay,
    decisions,
    routes: config.gateway.routes,
    catalog,
    policy: options.policy ?? loadActionPolicy(config),
    limits: config.gateway.limits,
    ...(config.gateway.publicUrl ? { publicUrl: config.gateway.publicUrl } : {}),
    listenHost: config.gateway.listen.host,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.guard ? { guard: options.guard } : {}),
    ...(options.stepTimer ? { stepTimer: options.stepTimer } : {}),
    guardConfig: config.guard,
    logger,
    metrics,
    tracing,
    txnTokenKey: loadOrCreateTxnTokenKey(config.dataDir),
  });
  const txnTokenJwks = JSON.stringify(gateway.txnTokenJwks);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (path === '/readyz') return void readiness(gateway, revocation, replay, options.guard, res);
    if (path === '/metrics') return void scrape(metrics, res);
    // The keys upstreams verify this gateway's Transaction Tokens with (src/verify/txn-token.ts).
    if (path === TXN_TOKEN_JWKS_PATH)
      return void res
        .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=300' })
        .end(txnTokenJwks);
    void gateway.handle(req, res);
  };
  const server = listener.tls
    ? createHttpsServer({ ...listener.http, ...listener.tls }, handler)
    : createServer(listener.http, handler);
  // `Expect: 100-continue`: no automatic interim answer; the gateway sends 100 Continue only once it wants
  // the body (after authentication), so a refused caller never sends it.
  server.on('checkContinue', handler);
  let bound: Awaited<ReturnType<typeof listen>>;
  try {
    bound = await listen(server, config.gateway.listen.port, config.gateway.listen.host);
  } catch (error) {
    rereads?.stop();
    revocation.close();
    peers.close();
    await gateway.close();
    await replay.close?.();
    if (!options.decisions) await decisions.close();
    if (!options.tracing) await tracing.shutdown();
    throw error;
  }
  const { address } = bound;
  const scheme = listener.tls ? 'https' : 'http';
  // New certificates without a restart: SIGHUP (the CLI) and a watch on the files.
  const tlsFiles = config.gateway.tls;
  const tlsReload = tlsFiles
    ? reloadableTls(
        server as HttpsServer,
        { cert: tlsFiles.cert, key: tlsFiles.key, ...(tlsFiles.ca !== undefined ? { ca: tlsFiles.ca } : {}) },
        { minVersion: 'TLSv1.2' },
        {
          onReload: () => logger.info('tls: certificate reloaded'),
          onError: (error) => logError(logger, error, { part: 'tls reload' }),
        },
      )
    : undefined;
  // Without gateway.publicUrl, the listener's own URL is the public one (localhost for every interface).
  const publicHost = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : undefined;
  gateway.listening(publicHost === undefined ? bound.url : `${scheme}://${publicHost}:${address.port}`);
  if (options.guard) {
    // This process writes the ledger, so it keeps the ledger's copy of each agent's autonomy statement
    // current (src/guard/autonomy/). A failure is logged: statements are retried on the next change.
    const autonomy = options.guard.autonomy;
    autonomy.useSources(() => gateway.sources);
    await autonomy
      .recordTo(decisions, gateway.id, (error) => logError(logger, error, { part: 'autonomy' }))
      .catch((error: unknown) => logError(logger, error, { part: 'autonomy' }));
  }
  return {
    url: bound.url,
    gateway,
    server,
    revocation,
    reloadTls: () => tlsReload?.reload() ?? false,
    async close() {
      tlsReload?.close();
      rereads?.stop();
      revocation.close();
      peers.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
      await replay.close?.();
      if (!options.decisions) await decisions.close();
      if (!options.tracing) await tracing.shutdown();
    },
  };
}

/** `/metrics`: the Prometheus text format of this gateway's registry. */
async function scrape(metrics: Metrics, res: ServerResponse): Promise<void> {
  try {
    const { contentType, body } = await metrics.render();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
  } catch {
    res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
  }
}

/** How long readiness waits for the guard store to answer before calling it down. */
const GUARD_STORE_PROBE_MS = 2000;

/**
 * `/readyz`: ready while the revocation feed delivers heartbeats that vouch for it (so the revocation status
 * stays within its bound), the hot state answers — the replay cache and the guard's counters (Redis, when
 * configured) — the guard's store answers and can still make writes durable (budgets, approvals and trust
 * live there; a gateway without a guard has none to ask), and the decision log took the last durable append
 * (no call is forwarded without its record).
 */
async function readiness(
  gateway: Gateway,
  revocation: RevocationView,
  replay: ReplayCache,
  guard: GuardRuntime | undefined,
  res: ServerResponse,
): Promise<void> {
  let hotState = true;
  const guardStore =
    guard === undefined
      ? Promise.resolve(true)
      : answersWithin(() => guard.store.sql.ping(), GUARD_STORE_PROBE_MS);
  try {
    await Promise.all([replay.ping?.(), guard?.counters.ping()]);
  } catch {
    hotState = false;
  }
  const revocationFeed = revocation.feedConnected;
  const ledger = gateway.ledgerWritable;
  const store = await guardStore;
  const ready = revocationFeed && hotState && ledger && store;
  const body = JSON.stringify({ ready, revocationFeed, hotState, ledger, guardStore: store });
  res
    .writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(body);
}

/**
 * The listener's HTTP limits (slow clients are answered 408 and cut off: `headersTimeoutMs` for the header
 * block, `requestTimeoutMs` for the whole request) and, with `gateway.tls`, its certificate and the client
 * CA for mutual TLS. A client without a certificate chaining to `ca` fails the TLS handshake: no request
 * is read from it.
 */
function listenerOptions(gateway: GatewayConfig): {
  http: {
    maxHeaderSize: number;
    headersTimeout: number;
    requestTimeout: number;
    keepAliveTimeout: number;
    connectionsCheckingInterval: number;
  };
  tls?: {
    cert: Buffer;
    key: Buffer;
    ca?: Buffer;
    requestCert: boolean;
    rejectUnauthorized: boolean;
    handshakeTimeout: number;
    minVersion: 'TLSv1.2';
  };
} {
  const { limits, tls } = gateway;
  // Defaults again here: callers that assemble a configuration without validation (tests) may omit them.
  const headersTimeout = limits.headersTimeoutMs ?? 10_000;
  const requestTimeout = limits.requestTimeoutMs ?? 60_000;
  if (headersTimeout > requestTimeout)
    throw new ConfigError(
      '/gateway/limits/headersTimeoutMs',
      `expected at most gateway.limits.requestTimeoutMs (${requestTimeout})`,
    );
  const http = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: 5_000,
    // Node enforces both timeouts on this sweep (default every 30 s): sweep often enough that a slow
    // client is cut off close to its bound.
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
  if (!tls) return { http };
  if (tls.requireClientCert && tls.ca === undefined)
    throw new ConfigError('/gateway/tls/ca', 'is required when requireClientCert is true');
  const read = (file: string, option: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? 'unreadable';
      throw new ConfigError(`/gateway/tls/${option}`, `cannot read the file (${code})`);
    }
  };
  return {
    http,
    tls: {
      cert: read(tls.cert, 'cert'),
      key: read(tls.key, 'key'),
      ...(tls.ca !== undefined ? { ca: read(tls.ca, 'ca') } : {}),
      requestCert: tls.requireClientCert === true,
      rejectUnauthorized: tls.requireClientCert === true,
      handshakeTimeout: headersTimeout,
      minVersion: 'TLSv1.2',
    },
  };
}
