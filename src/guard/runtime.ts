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
import type { WarrantConfig } from '../config/types.ts';
import { ApprovalStore } from './approvals/store.ts';
import type { GuardChange } from './store/changes.ts';
import { type GuardStore, openGuardStore } from './store/open-guard-store.ts';

export type ChangeListener = (change: GuardChange) => void;

export interface GuardRuntime {
  readonly store: GuardStore;
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
  /** Told of a failed poll (the next one tries again). */
  readonly onError?: (error: unknown) => void;
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
  try {
    seen = await store.changes.latest();
  } catch (error) {
    if (owned) await store.close().catch(() => {});
    throw error;
  }
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
          poll().catch((error: unknown) => options.onError?.(error));
        }, pollMs)
      : undefined;
  timer?.unref();
  let closing: Promise<void> | undefined;
  return {
    store,
    approvals: new ApprovalStore(store.sql, store.changes),
    now: clock,
    watch(kind, listener) {
      const list = watchers.get(kind) ?? [];
      list.push(listener);
      watchers.set(kind, list);
    },
    poll,
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        await polling?.catch(() => {});
        if (owned) await store.close();
      })();
      return closing;
    },
  };
}
