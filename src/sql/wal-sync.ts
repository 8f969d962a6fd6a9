/**
 * Power-loss durability for SQLite WAL commits without blocking the event loop (issue 13).
 *
 * With `synchronous=FULL` in WAL mode SQLite fsyncs the WAL inside every COMMIT; node:sqlite is
 * synchronous, so each group commit held a server's only thread for an fdatasync (the STS spent ~31 % of
 * its main thread there at c=16, and no request could even be parsed meanwhile). SQLite documents FULL in
 * WAL mode as NORMAL plus exactly that one extra sync of the WAL after each commit
 * (https://www.sqlite.org/pragma.html#pragma_synchronous). So a connection opened with `synchronous=NORMAL`
 * whose commits are not reported done until this class has fdatasynced the WAL file has FULL's guarantee:
 * every acknowledged transaction survives power loss. The fdatasync runs on libuv's thread pool, and one
 * call covers every commit written before it started (group commit across event-loop turns).
 *
 * The WAL is append-only between checkpoints and a recovered WAL keeps only a valid prefix of frames, so
 * a synced commit also makes every earlier commit durable; a commit that is visible to readers but not yet
 * synced is never acknowledged to anyone. Checkpoints (NORMAL syncs the WAL before each one and the WAL
 * header when it restarts) and `journal_size_limit` truncation keep the file's inode, so one descriptor
 * serves for the connection's life.
 *
 * An fdatasync that fails leaves the page cache in an unknown state (a retried fsync can report success
 * for data already dropped), so the first failure is final: that sync's waiters and every later one are
 * refused, and the store fails closed until it is reopened.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { servingOne } from '../core/load.ts';

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class WalSync {
  readonly #path: string;
  #fd: number | undefined;
  /** Waiters for the next fdatasync (it must start after their commits). */
  #next: Waiter[] = [];
  #running = false;
  #failed: Error | undefined;
  #idle: (() => void)[] = [];
  readonly #fdatasync: typeof fdatasync;
  readonly #fdatasyncSync: typeof fdatasyncSync;
  readonly #inline: () => boolean;

  /**
   * `databasePath`: the SQLite file; its WAL is `<databasePath>-wal`. The options replace node:fs's
   * fdatasync forms and the load check in unit tests (to hold a sync in flight, make it fail, or force
   * the inline or the pool path).
   */
  constructor(
    databasePath: string,
    options: {
      fdatasync?: typeof fdatasync;
      fdatasyncSync?: typeof fdatasyncSync;
      inline?: () => boolean;
    } = {},
  ) {
    this.#path = `${databasePath}-wal`;
    this.#fdatasync = options.fdatasync ?? fdatasync;
    this.#fdatasyncSync = options.fdatasyncSync ?? fdatasyncSync;
    this.#inline = options.inline ?? servingOne;
  }

  /**
   * Resolves once everything committed before this call is on stable storage. With no sync in flight and
   * this process serving one request at a time (src/core/load.ts), the fdatasync runs inline: nothing else
   * waits for the event loop, and a pool round trip would only add latency.
   */
  sync(): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (!this.#running && this.#inline()) {
      try {
        this.#fd ??= openSync(this.#path, 'r');
        this.#fdatasyncSync(this.#fd);
        return Promise.resolve();
      } catch (error) {
        this.#failed = new Error('the store could not make its log durable (fdatasync failed)', {
          cause: error,
        });
        return Promise.reject(this.#failed);
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.#next.push({ resolve, reject });
      if (!this.#running) this.#start();
    });
  }

  /** Whether an fdatasync has failed: every sync is refused from then on (see the class comment). */
  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /** Waits for syncs in flight, then closes the descriptor. */
  async close(): Promise<void> {
    if (this.#running) await new Promise<void>((resolve) => this.#idle.push(resolve));
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #start(): void {
    const waiters = this.#next;
    this.#next = [];
    this.#running = true;
    let fd: number;
    try {
      // The WAL exists once a commit has been written to it (it is where the commit went).
      this.#fd ??= openSync(this.#path, 'r');
      fd = this.#fd;
    } catch (error) {
      this.#finish(waiters, error);
      return;
    }
    this.#fdatasync(fd, (error) => this.#finish(waiters, error));
  }

  #finish(waiters: readonly Waiter[], error: unknown): void {
    if (error && this.#failed === undefined) {
      this.#failed = new Error('the store could not make its log durable (fdatasync failed)', {
        cause: error,
      });
    }
    for (const w of waiters) {
      if (this.#failed === undefined) w.resolve();
      else w.reject(this.#failed);
    }
    this.#running = false;
    if (this.#next.length > 0) {
      if (this.#failed === undefined) {
        this.#start();
        return;
      }
      for (const w of this.#next.splice(0)) w.reject(this.#failed);
    }
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
