/**
 * The guard as one process runs it (DESIGN §6): its durable store (src/guard/store/) and the parts that
 * keep autonomy safe — each part a field here, built from the configuration by {@link openGuardRuntime},
 * used by the gateway's steps (`GatewayServices.guard`) and by the control plane's admin endpoints
 * (src/guard/admin/). `warrant dev` opens one runtime and gives it to both planes (two SQLite connections
 * in one thread could wait on each other's locks); `warrant serve` and every `warrant gateway` replica
 * each open their own over the same database.
 *
 * Changes made elsewhere (an operator's approval or reset through another process's admin API) reach this
 * process through the store's change history: the runtime polls it (`pollMs`) and tells the parts that
 * {@link GuardRuntime.watch} a kind.
 */
import { defaultConfig } from '../config/load-config.ts';
import type { WarrantConfig } from '../config/types.ts';
import { ApprovalStore } from './approvals/store.ts';
import { Autonomy } from './autonomy/autonomy.ts';
import { Breakers } from './breakers/breakers.ts';
import { breakerSettings } from './breakers/settings.ts';
import type { OpenState } from './breakers/state.ts';
import { type Budgets, openBudgets } from './budgets/budgets.ts';
import type { Counters } from './counters/counters.ts';
import { openCounters } from './counters/open-counters.ts';
import { ToolPins } from './pins/tool-pins.ts';
import type { GuardChange } from './store/changes.ts';
import { type GuardStore, openGuardStore } from './store/open-guard-store.ts';
import { TrustLevels } from './trust/trust-levels.ts';

export type ChangeListener = (change: GuardChange) => void;

export interface GuardRuntime {
  readonly store: GuardStore;
  /** Budgets (`guard.budgets`): cumulative caps whose spent amounts live in the store. */
  readonly budgets: Budgets;
  /** The deployment's trust domain: agent names resolve to `spiffe://<trustDomain>/agent/<name>`. */
  readonly trustDomain: string;
  /** Progressive trust: each agent's level (read per request), counted outcomes, demotions, pins. */
  readonly trust: TrustLevels;
  /** Autonomy statements: served by the admin API, recorded to the ledger by the gateway. */
  readonly autonomy: Autonomy;
  /** Pinned tools (src/guard/pins/): tool definitions compared with what operators approved. */
  readonly pins: ToolPins;
  /** The hot counters (`guard.counters`: memory, or Redis shared by the replicas). */
  readonly counters: Counters;
  /** Circuit breakers per agent, txn and agent→destination, counted in {@link GuardRuntime.counters}. */
  readonly breakers: Breakers;
  /** Human approvals: pending, decided, used (src/guard/approvals/). */
  readonly approvals: ApprovalStore;
  /** Epoch seconds. */
  now(): number;
  /**
   * Calls `listener` with every change of `kind` recorded after this moment, by this process or another
   * (within `pollMs`; at once for changes recorded through {@link GuardRuntime.poll}'s caller).
   */
  watch(kind: string, listener: ChangeListener): void;
  /** Reads the changes recorded since the last poll and tells the watchers (also run by the timer). */
  poll(): Promise<void>;
  /** Stops the timers and closes the store when this runtime opened it. Idempotent. */
  close(): Promise<void>;
}

export interface GuardRuntimeOptions {
  /** A store opened by the caller (tests, or `warrant dev` sharing one); the caller closes it. */
  readonly store?: GuardStore;
  /** Epoch seconds. */
  readonly clock?: () => number;
  /** How often the change history is polled, in ms (default 1000; 0: only when `poll()` is called). */
  readonly pollMs?: number;
  /** Told of a failed poll (the next one tries again), or of a breaker change that could not be recorded. */
  readonly onError?: (error: unknown) => void;
  /** Counters opened by the caller (tests: a Redis key prefix of their own); the caller closes them. */
  readonly counters?: Counters;
}

export async function openGuardRuntime(
  config: WarrantConfig,
  options: GuardRuntimeOptions = {},
): Promise<GuardRuntime> {
  const store = options.store ?? (await openGuardStore(config));
  const owned = options.store === undefined;
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  const watchers = new Map<string, ChangeListener[]>();
  let seen: number;
  let trust: TrustLevels;
  let counters: Counters;
  try {
    seen = await store.changes.latest();
    // A configuration without guard options (unit tests' minimal ones) gets the defaults.
    const trustConfig = config.guard?.trust ?? defaultConfig().guard.trust;
    trust = await TrustLevels.open(store, trustConfig, clock, options.onError);
    counters = options.counters ?? (await openCounters(config));
  } catch (error) {
    if (owned) await store.close().catch(() => {});
    throw error;
  }
  const breakers = new Breakers(counters, store, breakerSettings(config));
  if (options.onError) breakers.onError = options.onError;
  let polling: Promise<void> | undefined;
  const poll = (): Promise<void> => {
    polling ??= (async () => {
      try {
        for (;;) {
          const changes = await store.changes.since(seen);
          for (const change of changes) {
            seen = change.id;
            for (const listener of watchers.get(change.kind) ?? []) listener(change);
          }
          if (changes.length < 1000) return;
        }
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  };
  const pollMs = options.pollMs ?? 1000;
  const timer =
    pollMs > 0
      ? setInterval(() => {
          poll().then(
            () => trust.confirmed(),
            (error: unknown) => {
              // Levels are not raised on stale news: past a bound, every agent is back at the initial level.
              trust.unconfirmed();
              options.onError?.(error);
            },
          );
        }, pollMs)
      : undefined;
  timer?.unref();
  let closing: Promise<void> | undefined;
  watch(watchers, 'trust', (change) => trust.changed(change));
  // A reset made through another process: memory counters are this process's own, so it clears them here.
  // Redis counters were cleared by whoever reset (clearing again could erase a newer trip).
  // So is a containment trip (`warrant contain` in the control plane): each gateway opens the breaker here.
  watch(watchers, 'breaker', (change) => {
    if (counters.kind !== 'memory' || breakers.ownChange(change.id)) return;
    const action = change.detail['action'];
    if (action === 'reset')
      breakers.clear(change.subject, clock()).catch((error: unknown) => options.onError?.(error));
    const state = change.detail['state'] as OpenState | undefined;
    if (action === 'trip' && change.detail['trigger'] === 'contained' && state?.key === change.subject)
      breakers.applyTrip(state, clock()).catch((error: unknown) => options.onError?.(error));
  });
  return {
    store,
    budgets: openBudgets(config, store),
    trustDomain: config.trustDomain ?? 'warrant.local',
    trust,
    autonomy: new Autonomy(trust, config, clock),
    pins: new ToolPins(store, ToolPins.routesOf(config)),
    counters,
    breakers,
    approvals: new ApprovalStore(store.sql, store.changes),
    now: clock,
    watch(kind, listener) {
      watch(watchers, kind, listener);
    },
    poll,
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        await polling?.catch(() => {});
        await trust.close();
        if (!options.counters) await counters.close();
        if (owned) await store.close();
      })();
      return closing;
    },
  };
}

function watch(watchers: Map<string, ChangeListener[]>, kind: string, listener: ChangeListener): void {
  const list = watchers.get(kind) ?? [];
  list.push(listener);
  watchers.set(kind, list);
}
