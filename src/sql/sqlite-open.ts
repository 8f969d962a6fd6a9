/**
 * Opening an SQLite database file the way every Warrant store does: the file created 0600 (never wider,
 * not even for a moment) in a 0700 directory, WAL journal, the durability asked for, a busy timeout for
 * other processes' locks, and the schema migrated before anything reads it.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { migrateSqlite } from './migrate-sqlite.ts';
import type { Migration } from './migration.ts';

export interface SqliteConnectionOptions {
  /**
   * `full`: a commit is fsynced (it survives power loss and OS crashes). `normal`: it survives the process
   * crashing; the last commits before a power loss may be lost. The file stays consistent either way.
   */
  readonly synchronous: 'full' | 'normal';
  /** How long a writer waits for another process's lock, in ms. */
  readonly busyTimeoutMs: number;
  /** Truncate the WAL to this many bytes after a checkpoint (SQLite's default: no limit). */
  readonly journalSizeLimit?: number;
  /**
   * The WAL size, in pages, at which a COMMIT checkpoints it (`wal_autocheckpoint`; SQLite's default 1000).
   * A store whose WAL a checkpointer thread copies (see startCheckpointer) sets its bound here.
   */
  readonly autoCheckpointPages?: number;
}

export interface SqliteFileOptions extends SqliteConnectionOptions {
  /** Applied before the database is returned (see `migrateSqlite`). */
  readonly migrations: readonly Migration[];
  /** Epoch seconds, recorded with the migrations applied. */
  readonly now: number;
  /** The migrations table (default `schema_migrations`). */
  readonly migrationsTable?: string;
}

/**
 * Opens (creating when missing) the database at `path` — or `':memory:'`, for tests — with the pragmas
 * of `options`, and migrates it. When anything fails the connection is closed and the error thrown.
 */
export function openSqliteFile(path: string, options: SqliteFileOptions): DatabaseSync {
  const inMemory = path === ':memory:';
  if (!inMemory) createPrivateFile(path);
  const db = connectSqlite(path, options);
  try {
    migrateSqlite(db, options.migrations, options.now, {
      ...(options.migrationsTable === undefined ? {} : { table: options.migrationsTable }),
    });
    if (!inMemory) {
      for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Another connection to a database `openSqliteFile` opened (a writer thread's): WAL, the durability and
 * busy timeout asked for. It neither creates the file nor migrates.
 */
export function connectSqlite(path: string, options: SqliteConnectionOptions): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: options.busyTimeoutMs });
  try {
    db.exec(
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}; ` +
        `PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)};` +
        (options.journalSizeLimit === undefined
          ? ''
          : ` PRAGMA journal_size_limit = ${Math.trunc(options.journalSizeLimit)};`) +
        (options.autoCheckpointPages === undefined
          ? ''
          : ` PRAGMA wal_autocheckpoint = ${Math.trunc(options.autoCheckpointPages)};`),
    );
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Creates the file (and its directory, 0700) so it never exists with wider permissions than 0600. */
function createPrivateFile(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}
