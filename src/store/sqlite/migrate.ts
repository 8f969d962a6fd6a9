import type { DatabaseSync } from 'node:sqlite';
import { StoreSchemaError } from '../errors.ts';
import type { Migration } from '../migration.ts';

/**
 * Applies the pending migrations in version order inside one `BEGIN IMMEDIATE` transaction (so two
 * processes opening the same file serialise), recording each in `schema_migrations`. Resolves the
 * versions applied by this call: `[]` when the schema is current. A database that carries a version this
 * code does not know was written by a newer Warrant: it is refused, not touched.
 */
export function migrateSqlite(db: DatabaseSync, migrations: readonly Migration[], now: number): number[] {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
    );
    const applied = new Set(
      db
        .prepare('SELECT version FROM schema_migrations')
        .all()
        .map((row) => Number(row['version'])),
    );
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new StoreSchemaError(
        `database has schema version ${Math.max(...unknown)}, newer than this Warrant`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, now);
      done.push(m.version);
    }
    db.exec('COMMIT');
    return done;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
