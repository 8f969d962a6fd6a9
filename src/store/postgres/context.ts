import type pg from 'pg';
import { pgCode, statements, UNIQUE_VIOLATION } from '../../sql/postgres.ts';
import { StoreConflictError } from '../errors.ts';
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

/** A unique violation as a `StoreConflictError` saying `what` (or `what(constraint)`); any other error as it is. */
export function asConflict(
  error: unknown,
  what: string | ((constraint: string | undefined) => string),
): unknown {
  if (pgCode(error) !== UNIQUE_VIOLATION) return error;
  const constraint = (error as { constraint?: string } | null)?.constraint;
  return new StoreConflictError(typeof what === 'string' ? what : what(constraint), { cause: error });
}

/** The STS store's named statements (prepared once per connection, then reused). */
export const statement = statements('warrant_store');
