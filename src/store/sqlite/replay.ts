import type { ReplayStore } from '../ports.ts';
import { replayExpiry } from '../validate.ts';
import type { SqliteContext } from './context.ts';

/** Expired records are purged once every this many consumes. */
const REPLAY_PURGE_EVERY = 1000;

export function sqliteReplay({ prepare: s, tx, now }: SqliteContext): ReplayStore {
  // A live record makes the upsert a no-op (0 changes); an expired one is replaced (1 change).
  const consume = s(
    `INSERT INTO replay (namespace, id, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (namespace, id) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?`,
  );
  const purge = s('DELETE FROM replay WHERE expires_at <= ?');
  let sincePurge = 0;
  return {
    async consume(namespace, id, expiresAt) {
      const expiry = replayExpiry(namespace, id, expiresAt);
      const at = now();
      const purgeNow = ++sincePurge >= REPLAY_PURGE_EVERY;
      if (purgeNow) sincePurge = 0;
      return tx(() => {
        if (purgeNow) purge.run(at);
        return Number(consume.run(namespace, id, expiry, at).changes) === 1;
      });
    },
  };
}
