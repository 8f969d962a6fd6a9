/**
 * Opens the guard store of a configuration: `<dataDir>/guard.db` (SQLite, WAL, every commit fdatasynced before
 * it resolves — on libuv's pool, see WalSync) or, with
 * `store.kind: postgres`, the `warrant_guard` schema of `store.url` — migrated before it resolves. The
 * control plane (operators' changes) and every gateway replica (checks and counters) open the same one.
 */
import { join } from 'node:path';
import type { WarrantConfig } from '../../config/types.ts';
import { checkSchemaName, createPostgresPool, migratePool } from '../../sql/postgres.ts';
import { openSqliteFile } from '../../sql/sqlite-open.ts';
import { WalSync } from '../../sql/wal-sync.ts';
import { GuardChanges } from './changes.ts';
import { type GuardSql, PostgresGuardSql, SqliteGuardSql } from './guard-sql.ts';
import { POSTGRES_GUARD_MIGRATIONS, SQLITE_GUARD_MIGRATIONS } from './migrations.ts';

export interface GuardStore {
  readonly sql: GuardSql;
  readonly changes: GuardChanges;
  close(): Promise<void>;
}

export interface OpenGuardStoreOptions {
  /** PostgreSQL schema (default `warrant_guard`). */
  readonly schema?: string;
  /** SQLite file (default `<dataDir>/guard.db`); `:memory:` for unit tests. */
  readonly path?: string;
  /** Epoch seconds, recorded with the migrations applied. */
  readonly now?: number;
  /**
   * How a SQLite commit becomes durable (A/B for bench/guard.bench.ts only): `thread-pool` (default) commits
   * with `synchronous=NORMAL` and fdatasyncs the WAL on libuv's pool before a write resolves (WalSync);
   * `sqlite` lets SQLite fsync inside COMMIT, on the event loop.
   */
  readonly commitSync?: 'thread-pool' | 'sqlite';
}

export async function openGuardStore(
  config: Pick<WarrantConfig, 'store' | 'dataDir'>,
  options: OpenGuardStoreOptions = {},
): Promise<GuardStore> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  let sql: GuardSql;
  if (config.store.kind === 'postgres') {
    if (!config.store.url) throw new TypeError('store.url is required for a PostgreSQL guard store');
    const schema = checkSchemaName(options.schema ?? 'warrant_guard');
    // The guard is on the request path: a database that stops answering must fail the call (closed), not
    // hold it — so connections and statements are bounded.
    const pool = createPostgresPool({
      url: config.store.url,
      schema,
      max: 8,
      connectTimeoutMs: 3000,
      settings: { statement_timeout: '3000', lock_timeout: '3000' },
    });
    try {
      await migratePool(pool, schema, POSTGRES_GUARD_MIGRATIONS, now);
    } catch (error) {
      await pool.end().catch(() => {});
      throw error;
    }
    sql = new PostgresGuardSql(pool);
  } else {
    const path = options.path ?? join(config.dataDir, 'guard.db');
    const walSync =
      path !== ':memory:' && (options.commitSync ?? 'thread-pool') === 'thread-pool'
        ? new WalSync(path)
        : undefined;
    const db = openSqliteFile(path, {
      // FULL's guarantee either way: with WalSync the WAL's fsync after each commit is done off the event loop.
      synchronous: walSync === undefined ? 'full' : 'normal',
      busyTimeoutMs: 5000,
      migrations: SQLITE_GUARD_MIGRATIONS,
      now,
    });
    sql = new SqliteGuardSql(db, walSync);
  }
  return { sql, changes: new GuardChanges(sql), close: () => sql.close() };
}
