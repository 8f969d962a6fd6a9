import type pg from 'pg';
import { StoreConflictError } from '../errors.ts';
import type { Row } from '../rows.ts';
import type { Param } from '../sql.ts';

/** Runs `fn` in one transaction on a pooled connection: committed when it resolves, rolled back when not. */
export type Tx = <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/** What every PostgreSQL sub-store is built from: the pool, its transaction runner, one clock. */
export interface PostgresContext {
  readonly pool: pg.Pool;
  readonly tx: Tx;
  /** Epoch seconds, floored. */
  readonly now: () => number;
}

/** PostgreSQL's numbered parameters. */
export const param: Param = (n) => `$${n}`;

const UNIQUE_VIOLATION = '23505';

export function pgCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

/** A unique violation as a `StoreConflictError` saying `what` (or `what(constraint)`); any other error as it is. */
export function asConflict(
  error: unknown,
  what: string | ((constraint: string | undefined) => string),
): unknown {
  if (pgCode(error) !== UNIQUE_VIOLATION) return error;
  const constraint = (error as { constraint?: string } | null)?.constraint;
  return new StoreConflictError(typeof what === 'string' ? what : what(constraint), { cause: error });
}

/** A named (so prepared once per connection, then reused) statement. */
export function statement(name: string, sql: string): (values?: unknown[]) => pg.QueryConfig {
  const prepared = `warrant_store_${name}`;
  return (values = []) => ({ name: prepared, text: sql, values });
}

export async function one(db: pg.Pool | pg.PoolClient, query: pg.QueryConfig): Promise<Row | undefined> {
  return (await db.query<Row>(query)).rows[0];
}

export async function all(db: pg.Pool | pg.PoolClient, query: pg.QueryConfig): Promise<Row[]> {
  return (await db.query<Row>(query)).rows;
}
