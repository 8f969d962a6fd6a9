import type { DatabaseSync } from 'node:sqlite';
import { openSqliteFile } from '../../sql/sqlite-open.ts';
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
  /** Epoch seconds (default: the system clock). */
  clock?: Clock;
}

const systemClock: Clock = () => Date.now() / 1000;

/**
 * Opens (creating when missing) an SQLite store: WAL, `synchronous=NORMAL`, a busy timeout, migrations
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
  const db = openSqliteFile(path, {
    synchronous: 'normal',
    busyTimeoutMs,
    migrations: SQLITE_MIGRATIONS,
    now: Math.floor(clock()),
  });
  try {
    return sqliteStore(db, clock);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The sub-stores over one connection, sharing its group-committed writer (and tokens the status bits). */
function sqliteStore(db: DatabaseSync, clock: Clock): Store {
  const group = new GroupCommit(db);
  const context: SqliteContext = {
    prepare: (sql) => db.prepare(sql),
    tx: (fn) => group.write(fn),
    now: () => Math.floor(clock()),
  };
  const bits = sqliteStatusBits(context);
  return {
    kind: 'sqlite',
    agents: sqliteAgents(context),
    tokens: sqliteTokens(context, bits),
    statusLists: sqliteStatusLists(context, bits),
    keys: sqliteKeys(context),
    replay: sqliteReplay(context),
    issuers: sqliteIssuers(context),
    async close() {
      if (!db.isOpen) return;
      group.flush();
      db.close();
    },
  };
}
