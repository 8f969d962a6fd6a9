/**
 * Opens the PostgreSQL side of the replicated ledger: a pool on the ledger schema (`warrant_ledger` by
 * default — the same tables the single writer and the audit commands use), migrated, with
 * `synchronous_commit = on` (an acknowledged INSERT is on the server's disk). Gateways open one for their
 * `PendingSink`; the control plane one for its `TileIntegrator` and the tlog-tiles endpoints.
 */
import type pg from 'pg';
import { checkPostgresUrl, checkSchemaName, createPostgresPool, migratePool } from '../../sql/postgres.ts';
import { POSTGRES_LEDGER_MIGRATIONS } from '../store/migrations.ts';

export interface LedgerPoolOptions {
  readonly url: string;
  /** Default `warrant_ledger`. */
  readonly schema?: string;
  /** Default 4. */
  readonly max?: number;
}

export async function openLedgerPool(options: LedgerPoolOptions): Promise<pg.Pool> {
  const url = checkPostgresUrl(options.url);
  const schema = checkSchemaName(options.schema ?? 'warrant_ledger');
  const pool = createPostgresPool({
    url,
    schema,
    max: options.max ?? 4,
    settings: { synchronous_commit: 'on' },
  });
  try {
    await migratePool(pool, schema, POSTGRES_LEDGER_MIGRATIONS, Math.floor(Date.now() / 1000));
  } catch (error) {
    await pool.end();
    throw error;
  }
  return pool;
}
