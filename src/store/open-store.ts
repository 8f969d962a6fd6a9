import type { Clock, Store } from './ports.ts';
import { openPostgresStore } from './postgres/postgres-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';

export type OpenStoreOptions =
  | {
      kind: 'sqlite';
      /** A file path, or `':memory:'` for unit tests. */
      path: string;
      busyTimeoutMs?: number;
      clock?: Clock;
      /** Benchmarks' A/B only (see SqliteStoreOptions). */
      synchronous?: 'full' | 'normal';
      checkpoints?: 'worker' | 'inline';
    }
  | {
      kind: 'postgres';
      url: string;
      /** Default `warrant_sts`. */
      schema?: string;
      poolSize?: number;
      clock?: Clock;
    };

/** Opens the STS store of the configured kind, with its migrations applied. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  switch (options.kind) {
    case 'sqlite':
      return openSqliteStore(options);
    case 'postgres':
      return openPostgresStore(options);
    default:
      throw new TypeError('store kind must be sqlite or postgres');
  }
}
