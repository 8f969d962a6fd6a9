/**
 * The PostgreSQL plumbing every Warrant store shares: checked connection options, a `pg` pool whose
 * connections all use the store's schema, migrations applied on one of its connections, and named
 * (prepared once per connection) statements.
 */
import pg from 'pg';
import { migratePostgres } from './migrate-postgres.ts';
import type { Migration } from './migration.ts';
import type { Row } from './row.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;
const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/;
const SETTING_VALUE = /^[A-Za-z0-9_.]+$/;

/** `url` when it is a `postgres://` or `postgresql://` URL; a `TypeError` otherwise. */
export function checkPostgresUrl(url: unknown): string {
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url))
    throw new TypeError('url must start with postgres:// or postgresql://');
  return url;
}

/** `schema` when it is a plain identifier (it is written into SQL); a `TypeError` otherwise. */
export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema))
    throw new TypeError('schema must match [a-z_][a-z0-9_]* (at most 63 characters)');
  return schema;
}

export interface PostgresPoolOptions {
  readonly url: string;
  /** Every connection's `search_path` (a checked identifier). */
  readonly schema: string;
  /** The most connections. */
  readonly max: number;
  /** Session settings of every connection, e.g. `{ synchronous_commit: 'on' }`. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Longest wait for a new connection, in ms (default: pg's, no limit). */
  readonly connectTimeoutMs?: number;
}

/**
 * A pool whose connections use `search_path = <schema>` and the given settings, reading BIGINT as a
 * JavaScript number (every BIGINT of Warrant's is an epoch time, a counter, an index or a size, well inside
 * `Number.MAX_SAFE_INTEGER`). An idle connection that dies is dropped by the pool: the next query reports
 * the outage.
 */
export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  const schema = checkSchemaName(options.schema);
  const flags = [`-c search_path=${schema}`];
  for (const [name, value] of Object.entries(options.settings ?? {})) {
    if (!SETTING_NAME.test(name) || !SETTING_VALUE.test(value))
      throw new TypeError(`setting ${JSON.stringify(name)} is not a plain name = value`);
    flags.push(`-c ${name}=${value}`);
  }
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, 'text', (value: string) => Number(value));
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectTimeoutMs }),
    options: flags.join(' '),
    types,
  });
  pool.on('error', () => {});
  return pool;
}

/** Applies `migrations` to `schema` on one connection of `pool` (see `migratePostgres`). */
export async function migratePool(
  pool: pg.Pool,
  schema: string,
  migrations: readonly Migration[],
  now: number,
  options: { readonly table?: string } = {},
): Promise<number[]> {
  const client = await pool.connect();
  try {
    return await migratePostgres(client, schema, migrations, now, options);
  } finally {
    client.release();
  }
}

/** The first row `query` returns, if any. */
export async function one(db: pg.Pool | pg.PoolClient, query: pg.QueryConfig): Promise<Row | undefined> {
  return (await db.query<Row>(query)).rows[0];
}

/** Every row `query` returns. */
export async function all(db: pg.Pool | pg.PoolClient, query: pg.QueryConfig): Promise<Row[]> {
  return (await db.query<Row>(query)).rows;
}

/** The SQLSTATE of a `pg` error (`undefined` for anything else). */
export function pgCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

/** SQLSTATE `unique_violation`. */
export const UNIQUE_VIOLATION = '23505';

/** A named statement: prepared once per connection, then reused. Names are `<prefix>_<name>`. */
export type Statement = (values?: unknown[]) => pg.QueryConfig;

/** Named statements of one store, `prefix` keeping their names apart from other stores' on a connection. */
export function statements(prefix: string): (name: string, text: string) => Statement {
  return (name, text) => {
    const prepared = `${prefix}_${name}`;
    return (values = []) => ({ name: prepared, text, values });
  };
}
