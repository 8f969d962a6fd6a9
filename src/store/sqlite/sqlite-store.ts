import type { DatabaseSync } from 'node:sqlite';
import { type Checkpointer, startCheckpointer, WAL_BOUND_PAGES } from '../../sql/sqlite-checkpointer.ts';
import { openSqliteFile } from '../../sql/sqlite-open.ts';
import { WalSync } from '../../sql/wal-sync.ts';
import { SQLITE_MIGRATIONS } from '../migrations.ts';
import type { Clock, Store } from '../ports.ts';
import { integer, text } from '../validate.ts';
import { sqliteAgents } from './agents.ts';
import type { SqliteContext } from './context.ts';
import { GroupCommit } from './group-commit.ts';
import { sqliteIssuers } from './issuers.ts';
import { sqliteKeys } from './keys.ts';
import { sqliteReplay } from './replay.ts';
import { sqliteStatusBits, sqliteStatusLists } from './status-lists.ts';
import { sqliteTokens } from './tokens.ts';

export interface SqliteStoreOptions {
  /** A file path (created 0600 in a 0700 directory when missing) or `':memory:'` for unit tests. */
  path: string;
  /** How long a writer waits for another process's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /**
   * For benchmarks' same-run A/B only (the STS never sets these): `normal` drops power-loss durability,
   * `inline` lets SQLite checkpoint inside a COMMIT. Defaults: `full`, `worker`.
   */
  synchronous?: 'full' | 'normal';
  checkpoints?: 'worker' | 'inline';
  /**
   * How `full` is reached (A/B only): `thread-pool` (default) commits with `synchronous=NORMAL` and resolves a
   * write once the WAL is fdatasynced on libuv's pool (WalSync); `sqlite` lets SQLite fsync inside COMMIT.
   */
  commitSync?: 'thread-pool' | 'sqlite';
  /**
   * The WAL's bound in pages with worker checkpoints: a COMMIT that finds the WAL this long checkpoints it
   * (default `WAL_BOUND_PAGES`, 64 MiB; see src/sql/sqlite-checkpointer.ts). Tests set a small one.
   */
  walBoundPages?: number;
  /** Epoch seconds (default: the system clock). */
  clock?: Clock;
}

const systemClock: Clock = () => Date.now() / 1000;

/**
 * Opens (creating when missing) an SQLite store: WAL, power-loss durable commits (FULL's guarantee, the
 * fdatasync on libuv's pool), checkpoints on a worker thread,
 * a busy timeout, migrations
 * applied. Every statement is prepared once here. Reads run at once; each write is one synchronous unit
 * (nothing of this process interleaves with it) inside a group-committed `BEGIN IMMEDIATE` transaction,
 * which also serialises it against other processes on the same file.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const path = text(options.path, 'path');
  const busyTimeoutMs = integer(options.busyTimeoutMs ?? 5000, 'busyTimeoutMs');
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function');
  // synchronous=FULL: an issued token and its status slot survive power loss, not only a process crash
  // (a warrant handed out must stay revocable). Checkpoints run on a worker thread, not inside a COMMIT.
  const synchronous = options.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal')
    throw new TypeError('synchronous must be full or normal');
  const workerCheckpoints = path !== ':memory:' && (options.checkpoints ?? 'worker') === 'worker';
  const walBoundPages = integer(options.walBoundPages ?? WAL_BOUND_PAGES, 'walBoundPages');
  if (walBoundPages < 1) throw new TypeError('walBoundPages must be a positive integer');
  const commitSync = options.commitSync ?? 'thread-pool';
  if (commitSync !== 'thread-pool' && commitSync !== 'sqlite')
    throw new TypeError('commitSync must be thread-pool or sqlite');
  // FULL in WAL mode is NORMAL plus an fsync of the WAL after each commit: WalSync does that fsync off the
  // event loop, and no write resolves before it (see src/sql/wal-sync.ts).
  const walSync =
    synchronous === 'full' && commitSync === 'thread-pool' && path !== ':memory:'
      ? new WalSync(path)
      : undefined;
  const db = openSqliteFile(path, {
    synchronous: walSync === undefined ? synchronous : 'normal',
    ...(workerCheckpoints ? { autoCheckpointPages: walBoundPages } : {}),
    busyTimeoutMs,
    migrations: SQLITE_MIGRATIONS,
    now: Math.floor(clock()),
  });
  try {
    const checkpointer = workerCheckpoints ? startCheckpointer(path, 250, busyTimeoutMs) : undefined;
    return sqliteStore(db, clock, checkpointer, walSync);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The sub-stores over one connection, sharing its group-committed writer (and tokens the status bits). */
function sqliteStore(
  db: DatabaseSync,
  clock: Clock,
  checkpointer: Checkpointer | undefined,
  walSync: WalSync | undefined,
): Store {
  const group = new GroupCommit(db, walSync === undefined ? undefined : () => walSync.sync());
  const context: SqliteContext = {
    prepare: (sql) => db.prepare(sql),
    tx: (fn) => group.write(fn),
    now: () => Math.floor(clock()),
  };
  const bits = sqliteStatusBits(context);
  let closing = false;
  return {
    kind: 'sqlite',
    agents: sqliteAgents(context),
    tokens: sqliteTokens(context, bits),
    statusLists: sqliteStatusLists(context, bits),
    keys: sqliteKeys(context),
    replay: sqliteReplay(context),
    issuers: sqliteIssuers(context),
    writable: () => walSync?.failed !== true,
    async close() {
      if (!db.isOpen || closing) return;
      closing = true;
      group.flush();
      await walSync?.close();
      db.close();
      await checkpointer?.close();
    },
  };
}
