import type { ClientBase } from 'pg';
import { StoreSchemaError } from '../store/errors.ts';
import { type MigrateOptions, type Migration, migrationsTable, pending } from './migration.ts';

/** Advisory-lock class shared by every Warrant schema migration; the second key is the schema. */
const MIGRATION_LOCK = 0x57415252; // 'WARR'

/**
 * Creates the schema when missing and applies the pending migrations in version order, in one
 * transaction holding an advisory lock on the schema (replicas starting together serialise), recording
 * each in the migrations table (default `schema_migrations`) of the schema. Resolves the versions
 * applied by this call: `[]` when current. A schema carrying a version this code does not know was
 * written by a newer Warrant and is refused (`StoreSchemaError`). `now` (epoch seconds) is recorded with
 * each version applied. `schema` must be a checked identifier (see `checkSchemaName`).
 */
export async function migratePostgres(
  client: ClientBase,
  schema: string,
  migrations: readonly Migration[],
  now: number,
  options: MigrateOptions = {},
): Promise<number[]> {
  const table = migrationsTable(options);
  const quoted = `"${schema}"`;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${table}`);
    const todo = pending(
      migrations,
      new Set(rows.map((r) => Number(r.version))),
      (v) => new StoreSchemaError(`schema ${schema} has version ${v}, newer than this Warrant`),
    );
    for (const m of todo) {
      await client.query(m.sql);
      await client.query(`INSERT INTO ${table} (version, name, applied_at) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        now,
      ]);
    }
    await client.query('COMMIT');
    return todo.map((m) => m.version);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
