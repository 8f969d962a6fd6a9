/**
 * The data plane as one process (`warrant gateway`, and the second half of `warrant dev`): one gateway
 * replica — its listener and request path are the gateway's own (src/gateway/start-gateway.ts) — composed
 * here with its hot state (hot-state.ts: the replay cache by the one rule) and its ledger role
 * (ledger-role.ts: today the replica owns the in-process ledger, single writer).
 */
import type { WarrantConfig } from '../config/types.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import { loadActionPolicy, type RunningGateway, startGateway } from '../gateway/start-gateway.ts';
import { ActionCatalog } from '../guard/catalog.ts';
import { type InboxDrain, startLedgerInboxDrain } from '../guard/contain/drain-ledger-inbox.ts';
import { type GuardRuntime, openGuardRuntime } from '../guard/runtime.ts';
import type { PolicySet } from '../policy/index.ts';
import { createMetrics } from '../telemetry/index.ts';
import { type HotState, openHotState } from './hot-state.ts';
import { type DecisionSink, type LedgerRole, openLedgerRole } from './ledger-role.ts';

export interface DataPlane {
  /** The gateway's URL (its listener). */
  readonly url: string;
  /** The gateway replica as src/gateway/start-gateway.ts runs it. */
  readonly replica: RunningGateway;
  readonly hotState: HotState;
  /** This replica's ledger jobs; `undefined` when the caller brought its own decision sink. */
  readonly ledger: LedgerRole | undefined;
  /** The guard's store and parts this replica checks calls with. */
  readonly guard: GuardRuntime;
  /** Appends containment records to the ledger (when this replica is the ledger's writer). */
  readonly drain: InboxDrain | undefined;
  /**
   * Applies the routes, action catalog and action policy of `next` without dropping requests in flight.
   * Throws (and changes nothing) when the new catalog or policy is invalid.
   */
  reload(next: WarrantConfig): void;
  /** Stops the gateway, then closes the ledger and the hot state. Idempotent. */
  close(): Promise<void>;
}

export interface DataPlaneOptions {
  /** The STS issuer (URL); default `gateway.issuer`. Its JWKS, status lists and revocation feed are used. */
  readonly issuer?: string;
  /** In-process key set (`warrant dev`); otherwise the issuer's JWKS is fetched. */
  readonly keys?: () => KeyResolver;
  /** Where decisions go instead of this replica's ledger role (tests); the caller closes it. */
  readonly decisions?: DecisionSink;
  readonly policy?: PolicySet;
  readonly clock?: () => number;
  /** A guard runtime opened by the caller (`warrant dev` shares one with the control plane); the caller closes it. */
  readonly guard?: GuardRuntime;
  /**
   * Append the containment records the control plane hands over (the guard store's ledger inbox) to the
   * decision sink. Default: when this replica owns its ledger role (it is the ledger's writer).
   */
  readonly drainContainment?: boolean;
}

/** The action catalog of the configuration (empty when none is configured). */
export function loadCatalog(config: WarrantConfig): ActionCatalog {
  return config.guard.catalog ? ActionCatalog.fromFile(config.guard.catalog) : new ActionCatalog([]);
}

/**
 * Starts one gateway replica. Checked before anything is opened: the issuer and the action catalog (a bad
 * entry is named before the STS is contacted). Then the hot state (Redis, when configured, must answer),
 * the ledger, and the gateway; whatever was opened is closed again when a later step fails.
 */
export async function startDataPlane(
  config: WarrantConfig,
  options: DataPlaneOptions = {},
): Promise<DataPlane> {
  const issuer = options.issuer ?? config.gateway.issuer;
  if (!issuer) throw new TypeError('the data plane needs an issuer (gateway.issuer)');
  const catalog = loadCatalog(config);
  // One registry for the replica: the gateway's figures and its hot-state errors on the same /metrics.
  const metrics = createMetrics('gateway');
  const hotState = await openHotState(config, 'gateway', { metrics: metrics.hotState });
  let ledger: LedgerRole | undefined;
  let guard: GuardRuntime | undefined;
  let replica: RunningGateway;
  try {
    guard = options.guard ?? (await openGuardRuntime(config));
    if (!options.decisions) ledger = await openLedgerRole(config);
    replica = await startGateway(config, {
      issuer,
      catalog,
      replay: hotState.replay,
      metrics,
      decisions: options.decisions ?? ledger!.sink,
      guard,
      ...(options.keys ? { keys: options.keys } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  } catch (error) {
    await ledger?.close().catch(() => {});
    if (!options.guard) await guard?.close().catch(() => {});
    await hotState.close();
    throw error;
  }
  // The ledger's writer appends what containments recorded (src/guard/contain/ledger-inbox.ts).
  const drain: InboxDrain | undefined =
    (options.drainContainment ?? ledger !== undefined)
      ? startLedgerInboxDrain({
          guard,
          sink: options.decisions ?? ledger!.sink,
          writer: config.gateway.id ?? 'gateway',
        })
      : undefined;
  let closing: Promise<void> | undefined;
  return {
    url: replica.url,
    drain,
    replica,
    hotState,
    ledger,
    guard,
    reload(next) {
      replica.gateway.reload({
        routes: next.gateway.routes,
        catalog: loadCatalog(next),
        policy: loadActionPolicy(next),
      });
    },
    close() {
      closing ??= (async () => {
        await drain?.stop();
        await replica.close();
        await ledger?.close();
        if (!options.guard) await guard.close();
        await hotState.close();
      })();
      return closing;
    },
  };
}
