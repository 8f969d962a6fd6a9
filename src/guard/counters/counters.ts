/**
 * The guard's hot counters (DESIGN §6): counts over fixed windows (with the previous window, for a sliding
 * estimate, and an optional moving baseline), small sets, and small state values (a breaker's state) with
 * expiries — behind ONE port with two adapters: memory (one process) and Redis (every gateway replica of a
 * deployment counts into the same keys, so a spike split across replicas is seen whole).
 *
 * One call of {@link Counters.run} is one atomic batch (Redis: one Lua script, one round trip), so a
 * request's breaker check costs one round trip however many keys it touches. Every key expires: nothing
 * grows without bound. Time is the caller's (`now`, epoch seconds): replicas and tests agree on windows by
 * the clock they pass, not by the store's.
 *
 * A store that cannot answer rejects with {@link CountersUnavailableError}: the guard then fails closed.
 */
import { HotStateUnavailableError } from '../../core/dpop/replay-errors.ts';

/** Counts of one fixed window of `window` seconds, the one before it, and the baseline of past windows. */
export interface WindowCount {
  /** The count of the current window, this batch's increment included. */
  readonly current: number;
  /** The count of the window before. */
  readonly previous: number;
  /** How much of the current window has passed, 0..1 (for a sliding estimate). */
  readonly elapsed: number;
  /** When asked for: the exponentially weighted mean of completed windows' counts; null before the first. */
  readonly baseline: number | null;
  /** Seconds until the current window ends. */
  readonly resetIn: number;
}

export interface SetAdd {
  /** Whether the member was new. */
  readonly added: boolean;
  /** The set's size after the add. */
  readonly size: number;
  /** With `list`: the members, sorted. */
  readonly members: readonly string[];
}

/** One operation of a batch. Keys are relative to the store's prefix; ttl and window are in seconds. */
export type CounterOp =
  /** Adds `by` to `key`'s count in the current window; `alpha` (0 < alpha ≤ 1) keeps an EWMA baseline. */
  | {
      readonly op: 'count';
      readonly key: string;
      readonly window: number;
      readonly by: number;
      readonly alpha?: number;
    }
  /** Forgets `key`'s counts of the current and the previous window (a reset); true if there were some. */
  | { readonly op: 'clear'; readonly key: string; readonly window: number }
  /** A state value (or a plain counter's value, as text), or null. */
  | { readonly op: 'get'; readonly key: string }
  /** Sets `key` to `value` (null: deletes it) only if it is `expect` now (null: absent); true if set. */
  | {
      readonly op: 'cas';
      readonly key: string;
      readonly expect: string | null;
      readonly value: string | null;
      readonly ttl: number;
    }
  /** Deletes a key of any kind; true if it existed. */
  | { readonly op: 'del'; readonly key: string }
  /** A plain counter (no window): adds 1, returns the new value. */
  | { readonly op: 'incr'; readonly key: string; readonly ttl: number }
  /** Adds `member` to the set `key` (kept `ttl` after its last add). */
  | {
      readonly op: 'sadd';
      readonly key: string;
      readonly member: string;
      readonly ttl: number;
      readonly list?: boolean;
    }
  /** Whether `member` is in the set `key`. */
  | { readonly op: 'has'; readonly key: string; readonly member: string };

export type CounterResult<O extends CounterOp> = O extends { op: 'count' }
  ? WindowCount
  : O extends { op: 'get' }
    ? string | null
    : O extends { op: 'incr' }
      ? number
      : O extends { op: 'sadd' }
        ? SetAdd
        : boolean;

export type CounterResults<T extends readonly CounterOp[]> = {
  -readonly [K in keyof T]: CounterResult<T[K]>;
};

export interface Counters {
  readonly kind: 'memory' | 'redis';
  /** Runs `ops` in order as one atomic batch at `now` (epoch seconds); their results in the same order. */
  run<const T extends readonly CounterOp[]>(ops: T, now: number): Promise<CounterResults<T>>;
  /** The state keys (`get`/`cas` values) under `prefix`, with their values (at most `limit`). */
  states(prefix: string, now: number, limit?: number): Promise<{ key: string; value: string }[]>;
  /** Resolves when the store answers now. */
  ping(): Promise<void>;
  /** Closes what the adapter opened. Idempotent. */
  close(): Promise<void>;
}

/** The counter store did not answer (Redis down, slow or disconnected): the guard fails closed. */
export class CountersUnavailableError extends HotStateUnavailableError {}

/** How long a moving baseline is kept after its key's last count. */
export const BASELINE_TTL_SECONDS = 7 * 24 * 3600;

/** Checks a batch before it runs: bad arguments are a bug of the caller, never sent to a store. */
export function checkOps(ops: readonly CounterOp[]): void {
  for (const op of ops) {
    if (typeof op.key !== 'string' || op.key.length === 0 || op.key.length > 4096)
      throw new TypeError('counter key must be a non-empty string of at most 4096 characters');
    if (op.op === 'clear' && (!Number.isSafeInteger(op.window) || op.window < 1))
      throw new TypeError('window must be ≥ 1 s');
    if (op.op === 'count') {
      if (!Number.isSafeInteger(op.window) || op.window < 1) throw new TypeError('window must be ≥ 1 s');
      if (!Number.isSafeInteger(op.by) || op.by < 0) throw new TypeError('by must be an integer ≥ 0');
      if (op.alpha !== undefined && !(op.alpha > 0 && op.alpha <= 1))
        throw new TypeError('alpha must be in (0, 1]');
    }
    if ('ttl' in op && (!Number.isSafeInteger(op.ttl) || op.ttl < 1))
      throw new TypeError('ttl must be ≥ 1 s');
  }
}
