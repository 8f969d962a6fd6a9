import type pg from 'pg';
import { checkPostgresUrl, checkSchemaName, createPostgresPool, migratePool } from '../../sql/postgres.ts';
import { POSTGRES_MIGRATIONS } from '../migrations.ts';
import type { Clock, Store } from '../ports.ts';
import { integer } from '../validate.ts';
import { postgresAgents } from './agents.ts';
import type { PostgresContext, Tx } from './context.ts';
import { postgresExchangeReads } from './exchange-reads.ts';
import { postgresIssuers } from './issuers.ts';
import { postgresKeys } from './keys.ts';
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

const systemClock: Clock = () => Date.now() / 1000;

/**
 * Opens a PostgreSQL store on a `pg` pool whose connections all use `search_path = <schema>`; creates the
 * schema and applies migrations first. Statements are named, so each connection prepares each once.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const url = checkPostgresUrl(options.url);
  const schema = checkSchemaName(options.schema ?? 'warrant_sts');
  const poolSize = integer(options.poolSize ?? 10, 'poolSize', 1);
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function');

  // JIT off: every statement of the store is short OLTP work, but the planner's row estimates for the
  // recursive revocation cascade run to millions, past jit_above_cost — it then JIT-compiled for hundreds
  // of ms a statement that touches a few rows (issue 13: a 1,000-descendant revocation took ~400 ms).
  const noJit = { jit: 'off' };
  const pool = createPostgresPool({ url, schema, max: poolSize, settings: noJit });
  // Status-index allocation commits asynchronously (no WAL flush wait, so the hot counter row is locked
  // for microseconds, not a disk flush). Safe: an index matters only once a token carrying it is
  // recorded, and that later synchronous commit flushes the WAL past the allocation too.
  const allocationPool = createPostgresPool({
    url,
    schema,
    max: 2,
    settings: { ...noJit, synchronous_commit: 'off' },
  });
  try {
    await migratePool(pool, schema, POSTGRES_MIGRATIONS, Math.floor(clock()));
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
    exchangeReads: postgresExchangeReads(context),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([pool.end(), allocationPool.end()]);
    },
  };
}
