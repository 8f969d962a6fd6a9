import type { DatabaseSync } from 'node:sqlite';
import { StoreSchemaError } from '../store/errors.ts';
import { type MigrateOptions, type Migration, migrationsTable, pending } from './migration.ts';

/**
 * Applies the pending migrations in version order inside one `BEGIN IMMEDIATE` transaction (so two
 * processes opening the same file serialise), recording each in the migrations table (default
 * `schema_migrations`). Returns the versions applied by this call: `[]` when the schema is current. A
 * database that carries a version this code does not know was written by a newer Warrant: it is refused
 * (`StoreSchemaError`), not touched. `now` (epoch seconds) is recorded with each version applied.
 */
export function migrateSqlite(
  db: DatabaseSync,
  migrations: readonly Migration[],
  now: number,
  options: MigrateOptions = {},
): number[] {
  const table = migrationsTable(options);
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
    );
    const applied = new Set(
      db
        .prepare(`SELECT version FROM ${table}`)
        .all()
        .map((row) => Number(row['version'])),
    );
    const todo = pending(
      migrations,
      applied,
      (v) => new StoreSchemaError(`database has schema version ${v}, newer than this Warrant`),
    );
    const record = db.prepare(`INSERT INTO ${table} (version, name, applied_at) VALUES (?, ?, ?)`);
    for (const m of todo) {
      db.exec(m.sql);
      record.run(m.version, m.name, now);
    }
    db.exec('COMMIT');
    return todo.map((m) => m.version);
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
