import type { ClientBase } from 'pg';
import { StoreSchemaError } from '../errors.ts';
import type { Migration } from '../migration.ts';

/** Advisory-lock class shared by every Warrant store migration; the second key is the schema. */
const MIGRATION_LOCK = 0x57415252; // 'WARR'

/**
 * Creates the schema when missing and applies the pending migrations in version order, in one
 * transaction holding an advisory lock on the schema (replicas starting together serialise), recording
 * each in `schema_migrations`. Resolves the versions applied by this call: `[]` when current. A schema
 * carrying a version this code does not know was written by a newer Warrant and is refused.
 */
export async function migratePostgres(
  client: ClientBase,
  schema: string,
  migrations: readonly Migration[],
  now: number,
): Promise<number[]> {
  const quoted = `"${schema}"`;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new StoreSchemaError(
        `schema ${schema} has version ${Math.max(...unknown)}, newer than this Warrant`,
      );
    }
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        now,
      ]);
      done.push(m.version);
    }
    await client.query('COMMIT');
    return done;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
