/**
 * Opens the guard store of a configuration: `<dataDir>/guard.db` (SQLite, WAL, fsync per commit) or, with
 * `store.kind: postgres`, the `warrant_guard` schema of `store.url` — migrated before it resolves. The
 * control plane (operators' changes) and every gateway replica (checks and counters) open the same one.
 */
import { join } from 'node:path';
import type { WarrantConfig } from '../../config/types.ts';
import { checkSchemaName, createPostgresPool, migratePool } from '../../sql/postgres.ts';
import { openSqliteFile } from '../../sql/sqlite-open.ts';
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
    const db = openSqliteFile(options.path ?? join(config.dataDir, 'guard.db'), {
      synchronous: 'full',
      busyTimeoutMs: 5000,
      migrations: SQLITE_GUARD_MIGRATIONS,
      now,
    });
    sql = new SqliteGuardSql(db);
  }
  return { sql, changes: new GuardChanges(sql), close: () => sql.close() };
}
