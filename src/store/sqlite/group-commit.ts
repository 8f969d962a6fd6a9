import type { DatabaseSync, StatementSync } from 'node:sqlite';

interface Pending {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for one SQLite connection. Writes queued during one turn of the event loop run together
 * in a single `BEGIN IMMEDIATE … COMMIT` (one WAL append instead of one per write), each inside its own
 * savepoint so a failing write is undone alone and rejects alone. Every promise settles only after the
 * COMMIT is durable — synced by SQLite inside the COMMIT (`synchronous=FULL`), or, with `durable`, by an
 * fdatasync of the WAL off the event loop — so a resolved write survives power loss. A lone write skips
 * the savepoint.
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #rollback: StatementSync;
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;
  readonly #durable: (() => Promise<void>) | undefined;
  #queue: Pending[] = [];
  #scheduled = false;

  /**
   * `durable`: when set, called after each COMMIT; the group's writes resolve only once it has (a
   * connection with `synchronous=NORMAL` whose WAL it fdatasyncs off the event loop, see WalSync).
   */
  constructor(db: DatabaseSync, durable?: () => Promise<void>) {
    this.#db = db;
    this.#durable = durable;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#savepoint = db.prepare('SAVEPOINT w');
    this.#release = db.prepare('RELEASE w');
    this.#rollbackTo = db.prepare('ROLLBACK TO w');
  }

  /** Queues `run` (synchronous, no awaits) into the next group; resolves its result once committed. */
  write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs and commits everything queued now (also called by `close`). */
  flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0 || !this.#db.isOpen) {
      for (const op of batch) op.reject(new Error('the store is closed'));
      return;
    }
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.#begin.run();
      if (batch.length === 1) {
        outcomes.push(this.#attempt(batch[0]!.run));
      } else {
        for (const op of batch) {
          this.#savepoint.run();
          const outcome = this.#attempt(op.run);
          if (!outcome.ok) this.#rollbackTo.run();
          this.#release.run();
          outcomes.push(outcome);
        }
      }
      if (batch.length === 1 && !outcomes[0]!.ok) this.#rollback.run();
      else this.#commit.run();
    } catch (error) {
      if (this.#db.isTransaction) this.#rollback.run();
      for (const op of batch) op.reject(error);
      return;
    }
    const settle = (synced: { ok: boolean; error?: unknown }) =>
      batch.forEach((op, i) => {
        const outcome = outcomes[i]!;
        if (!outcome.ok) op.reject(outcome.value);
        else if (synced.ok) op.resolve(outcome.value);
        else op.reject(synced.error);
      });
    if (this.#durable === undefined || !outcomes.some((o) => o.ok)) {
      settle({ ok: true });
      return;
    }
    this.#durable().then(
      () => settle({ ok: true }),
      (error: unknown) => settle({ ok: false, error }),
    );
  }

  #attempt(run: () => unknown): { ok: boolean; value: unknown } {
    try {
      return { ok: true, value: run() };
    } catch (error) {
      return { ok: false, value: error };
    }
  }
}
