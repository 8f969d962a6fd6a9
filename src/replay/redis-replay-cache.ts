import { type Cluster, Redis } from 'ioredis';
import { checkConsumeArguments, type ReplayCache } from './replay-cache.ts';

export interface RedisReplayCacheOptions {
  /** Prefix of every key (default `warrant:replay:`); give each deployment or test run its own. */
  prefix?: string;
}

/**
 * A replay cache shared by every gateway/STS replica: one `SET <prefix><key> 1 EXAT <exp> NX` per
 * consume, so the check and the record are one atomic round trip and exactly one replica wins a race.
 * Redis errors reject the promise: callers fail closed.
 */
export class RedisReplayCache implements ReplayCache {
  readonly #client: Redis | Cluster;
  readonly #owned: boolean;
  readonly #prefix: string;

  /** `client` is a connected ioredis client (the caller keeps owning it) or a `redis://` URL (owned here). */
  constructor(client: Redis | Cluster | string, options: RedisReplayCacheOptions = {}) {
    const { prefix = 'warrant:replay:' } = options;
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    if (typeof client === 'string') {
      if (!/^rediss?:\/\//.test(client))
        throw new TypeError('Redis URL must start with redis:// or rediss://');
      this.#client = new Redis(client, { lazyConnect: false, maxRetriesPerRequest: 2 });
      // Connection errors surface as rejected consume() calls (the caller fails closed); without a
      // listener ioredis would also print them as unhandled.
      this.#client.on('error', () => {});
      this.#owned = true;
    } else if (client && typeof client === 'object' && typeof client.set === 'function') {
      this.#client = client;
      this.#owned = false;
    } else {
      throw new TypeError('client must be an ioredis client or a redis:// URL');
    }
    this.#prefix = prefix;
  }

  async consume(key: string, expiresAtEpochSeconds: number): Promise<boolean> {
    checkConsumeArguments(key, expiresAtEpochSeconds);
    // EXAT takes whole seconds; rounding up never shortens the record.
    const reply = await this.#client.set(
      this.#prefix + key,
      1,
      'EXAT',
      Math.ceil(expiresAtEpochSeconds),
      'NX',
    );
    return reply === 'OK';
  }

  /** Quits the connection when this cache opened it from a URL; a caller-supplied client is left alone. */
  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit();
  }
}
