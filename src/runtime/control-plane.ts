/**
 * The control plane as one process (`warrant serve`, and the first half of `warrant dev`): the STS with its
 * admin API on one listener, over the configured store and hot state, with its logs, metrics and traces.
 * With `ledger.mode: replicated` (several gateway replicas) it also competes for the ledger integrator lease
 * and serves the log read-only as C2SP tlog-tiles under `/ledger/` (ledger-role.ts). The dashboard under `/ui`
 * (src/dashboard/) when `dashboard.enabled`; the dev identity provider when `sts.devUserIssuer.enabled`.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { WarrantConfig } from '../config/types.ts';
import { type DevIdp, startDevIdp } from '../dashboard/dev-idp.ts';
import { devLoginAdmin } from '../dashboard/dev-login.ts';
import { openDashboard } from '../dashboard/open-dashboard.ts';
import type { GatewayRoute } from '../gateway/context.ts';
import { guardAdmin } from '../guard/admin/index.ts';
import { approverApi } from '../guard/approvals/approver-api.ts';
import type { ActionCatalog } from '../guard/catalog.ts';
import { configuredLedgerReader, type LedgerReader } from '../guard/contain/ledger-reader.ts';
import { type GuardRuntime, openGuardRuntime } from '../guard/runtime.ts';
import { reloadableTls } from '../http/listen.ts';
import {
  DEFAULT_SCHEMA_FILE,
  loadDefaultPolicySet,
  loadPolicyFiles,
  type PolicySet,
} from '../policy/index.ts';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/ports.ts';
import { activationDelaySeconds, keyRefreshMs, startKeyRefresh } from '../sts/key-refresh.ts';
import { BusMessageRejected, type RevocationBus } from '../sts/revocation-bus.ts';
import { SERVER_OPTIONS, stsRequestHandler } from '../sts/server.ts';
import { KeyVault } from '../sts/signing-keys.ts';
import { Sts } from '../sts/sts.ts';
import {
  createLogger,
  createMetrics,
  createTracing,
  type Logger,
  type Metrics,
  serializeError,
  type Tracing,
} from '../telemetry/index.ts';
import { loadCatalog } from './data-plane.ts';
import { type HotState, openHotState } from './hot-state.ts';
import { type LedgerIntegratorRole, startLedgerIntegrator } from './ledger-role.ts';

export interface ControlPlane {
  readonly url: string;
  readonly sts: Sts;
  readonly server: Server;
  readonly store: Store;
  /** The guard's store and parts its admin endpoints change. */
  readonly guard: GuardRuntime;
  readonly hotState: HotState;
  /** Revocations to and from the other replicas (when `redis` is configured). */
  readonly bus: RevocationBus | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  /** With `ledger.mode: replicated`: the ledger integrator (under the lease) and the `/ledger/` routes. */
  readonly ledger: LedgerIntegratorRole | undefined;
  /** Re-reads `sts.tls`'s files (SIGHUP; they are also watched). `false`: no TLS, or kept the old ones. */
  reloadTls(): boolean;
  /** `sts.devUserIssuer.enabled` (`warrant dev`): the dev identity provider for persons, at `<issuer>/dev-idp`. */
  readonly devIdp: DevIdp | undefined;
  close(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Admin bearer credential (from the environment variable named by `admin.tokenEnv`). */
  readonly adminToken?: string;
  /** A store opened by the caller (tests); otherwise opened from the configuration. */
  readonly store?: Store;
  /** A guard runtime opened by the caller (`warrant dev` shares one with the gateway); the caller closes it. */
  readonly guard?: GuardRuntime;
  readonly clock?: () => number;
  /**
   * How containment reads the ledger (`warrant contain`); default: a read connection to the configured
   * ledger store, opened on first use (the gateway's ledger role writes it).
   */
  readonly ledgerReader?: LedgerReader;
  /**
   * The routes and action catalog containment uses (`warrant dev`: the in-process gateway's, reloads
   * included); default: `gateway.routes` and `guard.catalog` of the configuration.
   */
  readonly gatewayView?: { routes(): readonly GatewayRoute[]; catalog(): ActionCatalog };
  /** Called with every unexpected error, after it is logged (never with request contents). */
  readonly onError?: (error: unknown) => void;
  /** `ledger.mode: replicated`: the PostgreSQL schema of the ledger (default `warrant_ledger`; tests). */
  readonly ledgerSchema?: string;
  /** Default: `createLogger({ service: 'sts' })` (level and format from the CLI settings or `LOG_LEVEL`). */
  readonly logger?: Logger;
  /** Default: `createMetrics('sts')`, served at `/metrics`. */
  readonly metrics?: Metrics;
  /** Default: `createTracing({ service: 'sts' })` (off unless the `OTEL_*` variables turn it on). */
  readonly tracing?: Tracing;
}

/** How often expired approvals are marked so in the guard store. */
const APPROVAL_SWEEP_MS = 5000;

/** The environment variable with the DPoP nonce secret every STS replica of a deployment shares. */
export const NONCE_SECRET_ENV = 'WARRANT_DPOP_NONCE_SECRET';

/** The shared DPoP nonce secret (32 bytes hashed from the variable), or undefined: a random one per process. */
export function dpopNonceSecret(env: Readonly<Record<string, string | undefined>>): Uint8Array | undefined {
  const value = env[NONCE_SECRET_ENV];
  if (value === undefined || value === '') return undefined;
  return createHash('sha256').update(`warrant dpop nonce\0${value}`).digest();
}

/** The delegation policy from the configured files, or the shipped defaults. */
export function policyLoader(config: WarrantConfig): () => PolicySet {
  const { delegation, schema } = config.policy;
  if (delegation === undefined) return () => loadDefaultPolicySet({ name: 'delegation' });
  return () => loadPolicyFiles(delegation, schema ?? DEFAULT_SCHEMA_FILE, { name: 'delegation' });
}

/** Opens the configured store: `<dataDir>/warrant.db` (SQLite, 0600 in a 0700 directory) or PostgreSQL. */
export async function openConfiguredStore(config: WarrantConfig): Promise<Store> {
  if (config.store.kind === 'postgres') return openStore({ kind: 'postgres', url: config.store.url! });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  return openStore({ kind: 'sqlite', path: join(config.dataDir, 'warrant.db') });
}

/**
 * Starts the control plane on the configured listener. The issuer is `sts.issuer` when configured, else the
 * URL actually listened on. Whatever it opened is closed again when it fails to start (a caller's store is
 * left open).
 */
export async function startControlPlane(
  config: WarrantConfig,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  const logger = options.logger ?? createLogger({ service: 'sts' });
  const metrics = options.metrics ?? createMetrics('sts');
  const tracing = options.tracing ?? (await createTracing({ service: 'sts' }));
  // The revocation relay's errors (Redis down, reconnecting, a malformed message): a warning each; the
  // requests that fail meanwhile are refused and logged on their own.
  const onHotStateError = (error: unknown): void => {
    // A message between replicas that was refused (forged, unsigned, replayed) or found missing.
    if (error instanceof BusMessageRejected)
      logger.warn({ code: error.code, reason: error.message }, 'bus: message between replicas ignored');
    else logger.warn({ err: serializeError(error) }, 'hot state: revocation relay error');
    options.onError?.(error);
  };
  // Undone in reverse order when a later step fails.
  const opened: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const close of opened.reverse()) await close().catch(() => {});
  };
  if (!options.tracing) opened.push(() => tracing.shutdown());
  try {
    const store = options.store ?? (await openConfiguredStore(config));
    if (!options.store) opened.push(() => store.close());
    const guard = options.guard ?? (await openGuardRuntime(config));
    if (!options.guard) opened.push(() => guard.close());
    const loadPolicy = policyLoader(config);
    const policy = loadPolicy();
    const vault = new KeyVault(store.keys, process.env['WARRANT_KEY_ENCRYPTION_KEY']);
    const keys = await vault.load(config.sts.algorithms[0] ?? 'EdDSA', clock());
    const hotState = await openHotState(config, 'sts', {
      metrics: metrics.hotState,
      onError: onHotStateError,
    });
    opened.push(() => hotState.close());
    // DPoP server nonces must verify at every replica behind one issuer: one secret for all of them.
    const nonceSecret = dpopNonceSecret(process.env);
    if (!nonceSecret && config.redis)
      logger.warn(
        `${NONCE_SECRET_ENV} is not set: DPoP nonces issued by this replica are refused by the other replicas`,
      );
    const tlsFiles = config.sts.tls;
    const server: Server = tlsFiles
      ? createHttpsServer({
          ...SERVER_OPTIONS,
          cert: readFileSync(tlsFiles.cert),
          key: readFileSync(tlsFiles.key),
          minVersion: 'TLSv1.2',
        })
      : createServer(SERVER_OPTIONS);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.sts.listen.port, config.sts.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    opened.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `${tlsFiles ? 'https' : 'http'}://${host}:${address.port}`;
    // New certificates without a restart: SIGHUP (`warrant serve`) and a watch on the files.
    const tls = tlsFiles
      ? reloadableTls(
          server as HttpsServer,
          tlsFiles,
          { minVersion: 'TLSv1.2' },
          {
            onReload: () => logger.info('tls: certificate reloaded'),
            onError: (error) =>
              logger.warn({ err: serializeError(error) }, 'tls: reload failed, kept the old one'),
          },
        )
      : undefined;
    if (tls) opened.push(async () => tls.close());
    const sts = new Sts({
      config,
      issuer: config.sts.issuer ?? url,
      store,
      keys,
      policy,
      dpopReplay: hotState.replay,
      clock,
      vault,
      loadPolicy,
      ...(nonceSecret ? { nonceSecret } : {}),
    });
    // Trusted peers (DESIGN §11): their keys and revocation status, and the crossings this STS accepted.
    await sts.startFederation();
    opened.push(async () => sts.stopFederation());
    // An agent exchanges its warrant for one carrying an approval the person gave (apv).
    sts.approvals = guard.approvals;
    // Approvals expire unanswered: the stored state and the change history say so (reads already do).
    const sweep = setInterval(() => {
      guard.approvals.expireDue(clock()).catch((error: unknown) => {
        logger.warn({ err: serializeError(error) }, 'approvals: expiry sweep failed');
      });
    }, APPROVAL_SWEEP_MS);
    sweep.unref();
    opened.push(async () => clearInterval(sweep));
    // Signing keys: re-read from the store when another replica rotated (the bus), periodically, and at
    // each pending key's activation time (publish first, sign after the activation delay).
    const keyRefresh = startKeyRefresh(sts, {
      everyMs: keyRefreshMs(activationDelaySeconds(config)),
      onError: (error) => logger.warn({ err: serializeError(error) }, 'signing keys: re-read failed'),
      onChange: (kid) => logger.info({ kid }, 'signing keys: changed'),
    });
    opened.push(async () => keyRefresh.stop());
    // Subscribed before the first request, so no feed client misses another replica's revocation.
    const bus = await hotState.relayRevocations(sts, { onKeysChanged: () => void keyRefresh.now() });
    if (bus) sts.feedCompleteSince = () => bus.completeSince;
    const ledgerReader = options.ledgerReader ?? configuredLedgerReader(config);
    if (!options.ledgerReader) opened.push(() => ledgerReader.close());
    // Revocations this replica performed (the relay's events from other replicas carry no kind).
    sts.events.on('revoked', (event) => {
      if (event.kind !== undefined) metrics.sts.revoked(event.kind, event.revoked.length);
    });
    // ledger.mode replicated: compete for the integrator lease, and serve the log (C2SP tlog-tiles).
    const ledger =
      config.ledger.mode === 'replicated'
        ? await startLedgerIntegrator(config, {
            ...(options.ledgerSchema ? { schema: options.ledgerSchema } : {}),
            onError: (error) =>
              logger.warn({ err: serializeError(error) }, 'ledger: integration round failed'),
          })
        : undefined;
    if (ledger) opened.push(() => ledger.close());
    const devIdp = config.sts.devUserIssuer.enabled ? await startDevIdp(sts.issuer, store, clock) : undefined;
    if (devIdp)
      logger.warn({ issuer: devIdp.issuer }, 'the dev identity provider is on: anyone may sign in as anyone');
    const dashboard = config.dashboard.enabled
      ? openDashboard({
          config,
          sts,
          guard,
          ledger: ledgerReader,
          routes: () => options.gatewayView?.routes() ?? config.gateway.routes,
          adminToken: options.adminToken,
          selfUrl: url,
          devIdp,
        })
      : undefined;
    if (dashboard) opened.push(async () => dashboard.close());
    server.on(
      'request',
      stsRequestHandler(sts, {
        ...(options.adminToken ? { adminToken: options.adminToken } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
        adminExtensions: [
          ...guardAdmin(guard, config.guard, {
            sts,
            guard,
            routes: () => options.gatewayView?.routes() ?? config.gateway.routes,
            catalog: () => options.gatewayView?.catalog() ?? loadCatalog(config),
            ledger: ledgerReader,
            compensationTimeoutMs: config.guard.contain.compensationTimeoutMs,
          }),
          devLoginAdmin(devIdp, sts),
        ],
        routeExtensions: [
          approverApi(guard, sts, config.guard),
          ...(ledger ? [ledger.routes] : []),
          ...(devIdp ? [devIdp.handle] : []),
          ...(dashboard ? [dashboard.routes] : []),
        ],
        logger,
        metrics,
        tracing,
      }),
    );
    logger.info(
      { url, issuer: sts.issuer, store: config.store.kind, hotState: hotState.kind },
      'sts listening',
    );
    if (dashboard?.built === false)
      logger.warn('the dashboard is not built (npm run build:dashboard): /ui says so');
    else if (dashboard) logger.info({ url: `${sts.issuer}/ui/` }, 'dashboard');
    let closing: Promise<void> | undefined;
    return {
      url,
      sts,
      server,
      store,
      guard,
      hotState,
      bus,
      logger,
      metrics,
      tracing,
      ledger,
      reloadTls: () => tls?.reload() ?? false,
      devIdp,
      close() {
        closing ??= (async () => {
          server.closeAllConnections();
          await undo();
        })();
        return closing;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}
