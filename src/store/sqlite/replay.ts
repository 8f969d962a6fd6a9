import type { StatementSync } from 'node:sqlite';
import type { ReplayStore } from '../ports.ts';
import { replayExpiry } from '../validate.ts';
import type { SqliteContext } from './context.ts';

/** Expired records are purged once every this many consumes. */
const REPLAY_PURGE_EVERY = 1000;

export class SqliteReplay implements ReplayStore {
  readonly #tx: SqliteContext['tx'];
  readonly #now: () => number;
  readonly #consume: StatementSync;
  readonly #purge: StatementSync;
  #sincePurge = 0;

  constructor({ prepare: s, tx, now }: SqliteContext) {
    this.#tx = tx;
    this.#now = now;
    // A live record makes the upsert a no-op (0 changes); an expired one is replaced (1 change).
    this.#consume = s(
      `INSERT INTO replay (namespace, id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (namespace, id) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?`,
    );
    this.#purge = s('DELETE FROM replay WHERE expires_at <= ?');
  }

  async consume(namespace: string, id: string, expiresAt: number): Promise<boolean> {
    const expiry = replayExpiry(namespace, id, expiresAt);
    const now = this.#now();
    const purge = ++this.#sincePurge >= REPLAY_PURGE_EVERY;
    if (purge) this.#sincePurge = 0;
    return this.#tx(() => {
      if (purge) this.#purge.run(now);
      return Number(this.#consume.run(namespace, id, expiry, now).changes) === 1;
    });
  }
}
