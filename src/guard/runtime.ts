/**
 * The guard as one process runs it (DESIGN §6): its durable store (src/guard/store/) and the parts that
 * keep autonomy safe — each part a field here, built from the configuration by {@link openGuardRuntime},
 * used by the gateway's steps (`GatewayServices.guard`) and by the control plane's admin endpoints
 * (src/guard/admin/). `warrant dev` opens one runtime and gives it to both planes (two SQLite connections
 * in one thread could wait on each other's locks); `warrant serve` and every `warrant gateway` replica
 * each open their own over the same database.
 */
import type { WarrantConfig } from '../config/types.ts';
import { type GuardStore, openGuardStore } from './store/open-guard-store.ts';

export interface GuardRuntime {
  readonly store: GuardStore;
  /** Stops the parts' timers and closes the store when this runtime opened it. Idempotent. */
  close(): Promise<void>;
}

export interface GuardRuntimeOptions {
  /** A store opened by the caller (tests, or `warrant dev` sharing one); the caller closes it. */
  readonly store?: GuardStore;
  /** Epoch seconds. */
  readonly clock?: () => number;
}

export async function openGuardRuntime(
  config: WarrantConfig,
  options: GuardRuntimeOptions = {},
): Promise<GuardRuntime> {
  const store = options.store ?? (await openGuardStore(config));
  const owned = options.store === undefined;
  let closing: Promise<void> | undefined;
  return {
    store,
    close() {
      closing ??= owned ? store.close() : Promise.resolve();
      return closing;
    },
  };
}
