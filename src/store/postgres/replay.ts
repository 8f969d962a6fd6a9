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

export function postgresReplay({ pool, now }: PostgresContext): ReplayStore {
  let sincePurge = 0;
  return {
    async consume(namespace, id, expiresAt) {
      const expiry = replayExpiry(namespace, id, expiresAt);
      const at = now();
      if (++sincePurge >= REPLAY_PURGE_EVERY) {
        sincePurge = 0;
        await pool.query(REPLAY_PURGE([at]));
      }
      const result = await pool.query(REPLAY_CONSUME([namespace, id, expiry, at]));
      return result.rowCount === 1;
    },
  };
}
