import type { StatementSync } from 'node:sqlite';
import { StoreConflictError } from '../errors.ts';
import type { Param } from '../sql.ts';

/** What every SQLite sub-store is built from: one connection, one group-committed writer, one clock. */
export interface SqliteContext {
  /** Prepares a statement (sub-stores prepare each once, when built). */
  readonly prepare: (sql: string) => StatementSync;
  /** Runs `fn` (synchronous) inside the next group-committed transaction; resolves once committed. */
  readonly tx: <T>(fn: () => T) => Promise<T>;
  /** Epoch seconds, floored. */
  readonly now: () => number;
}

/** SQLite's numbered parameters. */
export const param: Param = (n) => `?${n}`;

const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/** A primary-key or unique violation as a `StoreConflictError` saying `what`; any other error as it is. */
export function asConflict(error: unknown, what: string): unknown {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return code === SQLITE_CONSTRAINT_PRIMARYKEY || code === SQLITE_CONSTRAINT_UNIQUE
    ? new StoreConflictError(what, { cause: error })
    : error;
}
