import type pg from 'pg';
import type { ReplayStore } from '../ports.ts';
import { replayExpiry } from '../validate.ts';
import { type PostgresContext, statement } from './context.ts';

/** Expired records are purged once every this many consumes. */
const REPLAY_PURGE_EVERY = 1000;

/** A live record makes the upsert a no-op (no row returned); an expired one is replaced. */
const REPLAY_CONSUME = statement(
  'replay_consume',
  `INSERT INTO replay (namespace, id, expires_at) VALUES ($1, $2, $3)
   ON CONFLICT (namespace, id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE replay.expires_at <= $4`,
);
const REPLAY_PURGE = statement('replay_purge', 'DELETE FROM replay WHERE expires_at <= $1');

export class PostgresReplay implements ReplayStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  #sincePurge = 0;

  constructor({ pool, now }: PostgresContext) {
    this.#pool = pool;
    this.#now = now;
  }

  async consume(namespace: string, id: string, expiresAt: number): Promise<boolean> {
    const expiry = replayExpiry(namespace, id, expiresAt);
    const now = this.#now();
    if (++this.#sincePurge >= REPLAY_PURGE_EVERY) {
      this.#sincePurge = 0;
      await this.#pool.query(REPLAY_PURGE([now]));
    }
    const result = await this.#pool.query(REPLAY_CONSUME([namespace, id, expiry, now]));
    return result.rowCount === 1;
  }
}
