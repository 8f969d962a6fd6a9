import type { Redis } from 'ioredis';
import { checkConsumeArguments, type ReplayCache } from '../core/dpop/replay-cache.ts';
import { HotStateUnavailableError, ReplayStateLostError } from '../core/dpop/replay-errors.ts';
import { WarrantError } from '../core/errors.ts';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  type HotStateConnectionOptions,
  openHotStateRedis,
} from './redis-connection.ts';

export interface RedisReplayCacheOptions extends HotStateConnectionOptions {
  /** Prefix of every key (default `warrant:replay:`); give each deployment or test run its own. */
  readonly prefix?: string;
  /** The clock in epoch milliseconds (tests). */
  readonly nowMs?: () => number;
}

/**
 * One atomic round trip per consume. KEYS: the memory sentinel, the key. ARGV: the key's expiry (epoch s),
 * the moment it became usable (epoch ms), now (epoch ms). The sentinel holds the moment this Redis last lost
 * its memory as far as Warrant knows; a sentinel that is gone means the memory was lost (restart, flush,
 * eviction) and now is recorded as that moment. A key usable before the loss may have been consumed before
 * it: refused (2) and not recorded. Otherwise `SET NX EXAT`: 1 first use, 0 replay. Returns {answer, loss}.
 */
const CONSUME_SCRIPT = `
local lost = redis.call('GET', KEYS[1])
if not lost then
  lost = ARGV[3]
  redis.call('SET', KEYS[1], lost)
end
if tonumber(ARGV[2]) < tonumber(lost) and tonumber(ARGV[1]) * 1000 > tonumber(ARGV[3]) then
  return {2, lost}
end
if redis.call('SET', KEYS[2], '1', 'EXAT', ARGV[1], 'NX') then
  return {1, lost}
end
return {0, lost}
`;

type ConsumeCommand = (
  sentinel: string,
  key: string,
  expiresAt: number,
  validFromMs: number,
  nowMs: number,
) => Promise<[number, string]>;

const COMMAND = 'warrantReplayConsume';

/**
 * A replay cache shared by every gateway/STS replica: one atomic script per consume (check and record in
 * one round trip, so exactly one replica wins a race).
 *
 * Fails closed, fast: a Redis that is down, unreachable or slower than the command timeout rejects with
 * {@link HotStateUnavailableError} (never "not replayed"); reconnection is automatic.
 *
 * Knows when Redis lost its memory: a sentinel key (the prefix itself) holds the moment of the last known
 * loss. When it is missing — Redis restarted without persistence, or was flushed, or evicted it — the
 * records of consumed keys are gone too, so every key that was already usable before that moment is
 * refused with {@link ReplayStateLostError} until it expires; keys that became usable later are accepted.
 * When the sentinel is missing at first contact, the loss is dated at the Redis server's start (so a fresh
 * deployment on a Redis that has run for a while refuses nothing). Run Redis with
 * `maxmemory-policy noeviction`: an eviction policy may drop live replay records.
 */
export class RedisReplayCache implements ReplayCache {
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #sentinel: string;
  readonly #now: () => number;
  #firstContact: Promise<void> | undefined;
  #contacted = false;
  /** The last known memory loss of this Redis (epoch ms); 0 before first contact. */
  #lostAt = 0;
  readonly #connectTimeoutMs: number;

  /** `client` is a connected ioredis client (the caller keeps owning it) or a `redis://` URL (owned here). */
  constructor(client: Redis | string, options: RedisReplayCacheOptions = {}) {
    const { prefix = 'warrant:replay:', nowMs = Date.now } = options;
    if (typeof prefix !== 'string' || prefix.length === 0)
      throw new TypeError('prefix must be a non-empty string');
    if (typeof client === 'string') {
      this.#client = openHotStateRedis(client, { name: 'warrant-replay', ...options });
      this.#owned = true;
    } else if (client && typeof client === 'object' && typeof client.set === 'function') {
      this.#client = client;
      this.#owned = false;
    } else {
      throw new TypeError('client must be an ioredis client or a redis:// URL');
    }
    if (typeof (this.#client as unknown as Record<string, unknown>)[COMMAND] !== 'function')
      this.#client.defineCommand(COMMAND, { numberOfKeys: 2, lua: CONSUME_SCRIPT });
    this.#prefix = prefix;
    // Callers' keys are never empty, so the bare prefix is nobody's key.
    this.#sentinel = prefix;
    this.#now = nowMs;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  /** The last known moment this Redis lost its memory (epoch ms), 0 while unknown. */
  get lostAt(): number {
    return this.#lostAt;
  }

  async consume(key: string, expiresAtEpochSeconds: number, validFromEpochSeconds: number): Promise<boolean> {
    checkConsumeArguments(key, expiresAtEpochSeconds, validFromEpochSeconds);
    try {
      if (!this.#contacted) await this.#contact();
      // EXAT takes whole seconds; rounding up never shortens the record. Rounding the start down never
      // lets a key usable before a loss through.
      const [answer, lost] = await (this.#client as unknown as Record<typeof COMMAND, ConsumeCommand>)[
        COMMAND
      ](
        this.#sentinel,
        this.#prefix + key,
        Math.ceil(expiresAtEpochSeconds),
        Math.floor(validFromEpochSeconds * 1000),
        Math.ceil(this.#now()),
      );
      this.#lostAt = Number(lost);
      if (answer === 2) throw new ReplayStateLostError(this.#lostAt);
      return answer === 1;
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Resolves when Redis answers a PING within the command timeout; rejects `HotStateUnavailableError`. */
  async ping(): Promise<void> {
    try {
      await this.#client.ping();
    } catch (error) {
      throw unavailable(error);
    }
  }

  /**
   * First contact: adopts the sentinel, or — when there is none (a fresh Redis, or one that lost its memory
   * while no replica was connected) — dates the loss at the server's start, the latest moment that is
   * certainly no later than the loss.
   */
  #contact(): Promise<void> {
    this.#firstContact ??= (async () => {
      try {
        await this.#firstConnection();
        let lost = await this.#client.get(this.#sentinel);
        if (lost === null) {
          const info = await this.#client.info('server');
          const field = (name: string) => Number(info.match(new RegExp(`^${name}:(\\d+)`, 'm'))?.[1]);
          const serverNowMs = field('server_time_usec') / 1000;
          const uptimeMs = field('uptime_in_seconds') * 1000;
          // uptime is whole seconds, rounded down: the estimate is at or after the actual start.
          const startedAt =
            Number.isFinite(serverNowMs) && Number.isFinite(uptimeMs)
              ? Math.ceil(serverNowMs - uptimeMs)
              : Math.ceil(this.#now());
          await this.#client.set(this.#sentinel, String(startedAt), 'NX');
          lost = (await this.#client.get(this.#sentinel)) ?? String(startedAt);
        }
        this.#lostAt = Number(lost);
        this.#contacted = true;
      } finally {
        this.#firstContact = undefined;
      }
    })();
    return this.#firstContact;
  }

  /**
   * Without an offline queue a command fails while the first connection is still being made: wait for it
   * (bounded by the connect timeout). Later, while Redis is down, commands fail at once.
   */
  async #firstConnection(): Promise<void> {
    const client = this.#client;
    if (client.status === 'ready' || !['wait', 'connecting', 'connect'].includes(client.status)) return;
    let onReady: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve) => {
        onReady = resolve;
        // Ready, or the attempt failed (a refused connection need not wait for the timeout).
        for (const event of ['ready', 'reconnecting', 'end']) client.once(event, onReady);
        timer = setTimeout(resolve, this.#connectTimeoutMs);
      });
    } finally {
      clearTimeout(timer);
      if (onReady) for (const event of ['ready', 'reconnecting', 'end']) client.off(event, onReady);
    }
  }

  /** Quits the connection when this cache opened it from a URL; a caller-supplied client is left alone. */
  async close(): Promise<void> {
    if (!this.#owned) return;
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}

/** Redis failures become `HotStateUnavailableError`; Warrant's own errors and caller mistakes pass. */
function unavailable(error: unknown): unknown {
  if (error instanceof WarrantError || error instanceof TypeError) return error;
  const reason =
    error instanceof Error && /timed out/i.test(error.message)
      ? 'did not answer in time'
      : error instanceof Error && error.name === 'ReplyError'
        ? 'refused the command'
        : 'is not reachable';
  return new HotStateUnavailableError(`the replay store (Redis) ${reason}; failing closed`, { cause: error });
}
