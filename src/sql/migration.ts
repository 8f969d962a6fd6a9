/** One numbered schema migration; each store keeps its own ordered list. */
export interface Migration {
  readonly version: number;
  /** `NNN_snake_name`, recorded beside the version. */
  readonly name: string;
  readonly sql: string;
}

/** Where the versions applied are recorded (default `schema_migrations`). */
export interface MigrateOptions {
  /** A plain SQL identifier, `[a-z_][a-z0-9_]*`. */
  readonly table?: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The migrations table of `options`, checked (it is written into SQL). */
export function migrationsTable(options: MigrateOptions): string {
  const table = options.table ?? 'schema_migrations';
  if (typeof table !== 'string' || !IDENTIFIER.test(table))
    throw new TypeError('table must match [a-z_][a-z0-9_]* (at most 63 characters)');
  return table;
}

/** The migrations to apply, in version order; throws when the database knows versions these do not. */
export function pending(
  migrations: readonly Migration[],
  applied: ReadonlySet<number>,
  newer: (version: number) => Error,
): Migration[] {
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) throw newer(Math.max(...unknown));
  return [...migrations].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version));
}

/** What a migration's text takes from the database it is written for: where SQLite and PostgreSQL differ. */
export interface Dialect {
  /** A 64-bit integer. */
  readonly int: string;
  readonly bytes: string;
  /** After `CREATE TABLE (…)`. */
  readonly table: string;
  /** After `CREATE TABLE (…)` of a table read only by its primary key (SQLite stores it without rowid). */
  readonly keyedTable: string;
}

export const SQLITE_DIALECT: Dialect = {
  int: 'INTEGER',
  bytes: 'BLOB',
  table: ' STRICT',
  keyedTable: ' STRICT, WITHOUT ROWID',
};
export const POSTGRES_DIALECT: Dialect = { int: 'BIGINT', bytes: 'BYTEA', table: '', keyedTable: '' };

/** A migration written once for both databases: its text comes from the dialect `D`. */
export interface DialectMigration<D extends Dialect> {
  readonly version: number;
  readonly name: string;
  readonly sql: (dialect: D) => string;
}

/** `migrations` written out for one dialect. */
export function inDialect<D extends Dialect>(
  migrations: readonly DialectMigration<D>[],
  dialect: D,
): readonly Migration[] {
  return migrations.map((m) => ({ version: m.version, name: m.name, sql: m.sql(dialect) }));
}
