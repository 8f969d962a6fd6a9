import pg from 'pg';
import type { Clock, Store } from '../ports.ts';
import { integer, text } from '../validate.ts';
import { postgresAgents } from './agents.ts';
import type { PostgresContext, Tx } from './context.ts';
import { postgresIssuers } from './issuers.ts';
import { postgresKeys } from './keys.ts';
import { migratePostgres } from './migrate.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';
import { postgresReplay } from './replay.ts';
import { postgresStatusLists } from './status-lists.ts';
import { postgresTokens } from './tokens.ts';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** The schema holding the tables (default `warrant_sts`), created when missing. `[a-z_][a-z0-9_]*`. */
  schema?: string;
  /** Pool size (default 10). */
  poolSize?: number;
  /** Epoch seconds (default: the system clock). */
  clock?: Clock;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

const systemClock: Clock = () => Date.now() / 1000;

/**
 * Opens a PostgreSQL store on a `pg` pool whose connections all use `search_path = <schema>`; creates the
 * schema and applies migrations first. Statements are named, so each connection prepares each once.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const url = text(options.url, 'url');
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new TypeError('url must start with postgres:// or postgresql://');
  const schema = options.schema ?? 'warrant_sts';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new TypeError('schema must match [a-z_][a-z0-9_]* (at most 63 characters)');
  }
  const poolSize = integer(options.poolSize ?? 10, 'poolSize', 1);
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function');

  const types = new pg.TypeOverrides();
  // Every BIGINT here is an epoch time or a counter well inside Number.MAX_SAFE_INTEGER.
  types.setTypeParser(INT8_OID, 'text', (value: string) => Number(value));
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    options: `-c search_path=${schema}`,
    types,
  });
  // Status-index allocation commits asynchronously (no WAL flush wait, so the hot counter row is locked
  // for microseconds, not a disk flush). Safe: an index matters only once a token carrying it is
  // recorded, and that later synchronous commit flushes the WAL past the allocation too.
  const allocationPool = new pg.Pool({
    connectionString: url,
    max: 2,
    options: `-c search_path=${schema} -c synchronous_commit=off`,
    types,
  });
  // An idle connection that dies is dropped by the pool; the next query reports the outage.
  pool.on('error', () => {});
  allocationPool.on('error', () => {});
  try {
    const client = await pool.connect();
    try {
      await migratePostgres(client, schema, POSTGRES_MIGRATIONS, Math.floor(clock()));
    } finally {
      client.release();
    }
  } catch (error) {
    await Promise.all([pool.end(), allocationPool.end()]);
    throw error;
  }
  return postgresStore(pool, allocationPool, clock);
}

/** Runs `fn` in a transaction on a connection of `pool`; a connection whose ROLLBACK fails is discarded. */
function transactions(pool: pg.Pool): Tx {
  return async (fn) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  };
}

/** The sub-stores over the pools. */
function postgresStore(pool: pg.Pool, allocationPool: pg.Pool, clock: Clock): Store {
  const context: PostgresContext = { pool, tx: transactions(pool), now: () => Math.floor(clock()) };
  let closed = false;
  return {
    kind: 'postgres',
    agents: postgresAgents(context),
    tokens: postgresTokens(context),
    statusLists: postgresStatusLists(context, allocationPool),
    keys: postgresKeys(context),
    replay: postgresReplay(context),
    issuers: postgresIssuers(context),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([pool.end(), allocationPool.end()]);
    },
  };
}
