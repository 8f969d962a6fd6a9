import { Redis, type RedisOptions } from 'ioredis';
import type { WarrantConfig } from '../config/types.ts';

export interface HotStateConnectionOptions {
  /** Longest wait for one command's reply before it fails (default 500 ms). */
  readonly commandTimeoutMs?: number;
  /** Longest wait for a TCP (and TLS) connection to Redis (default 1000 ms). */
  readonly connectTimeoutMs?: number;
  /** `CLIENT SETNAME`, to tell Warrant's connections apart in `CLIENT LIST`. */
  readonly name?: string;
  /** Called with connection errors (never with command contents); they are otherwise swallowed. */
  readonly onError?: (error: unknown) => void;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;

/** Longest pause between reconnection attempts while Redis is down. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * The ioredis options for hot state on the request path: a command that cannot be answered fails fast
 * instead of waiting for Redis to come back. No offline queue (a command issued while disconnected fails at
 * once), a bounded connect and command timeout, no resending of unanswered commands after a reconnect —
 * and reconnection forever, at most a second apart, so recovery needs no restart.
 */
export function hotStateRedisOptions(options: HotStateConnectionOptions = {}): RedisOptions {
  const { commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS } =
    options;
  for (const [name, value] of [
    ['commandTimeoutMs', commandTimeoutMs],
    ['connectTimeoutMs', connectTimeoutMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
  }
  return {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
    ...(options.name === undefined ? {} : { connectionName: options.name }),
  };
}

/** Opens a hot-state Redis connection (see {@link hotStateRedisOptions}); `url` is `redis://` or `rediss://`. */
export function openHotStateRedis(url: string, options: HotStateConnectionOptions = {}): Redis {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url))
    throw new TypeError('Redis URL must start with redis:// or rediss://');
  const client = new Redis(url, hotStateRedisOptions(options));
  // Without a listener ioredis prints connection errors itself; commands reject on their own.
  client.on('error', options.onError ?? (() => {}));
  return client;
}

/** The hot-state timeouts of the `redis` option (defaults again here for configurations built in code). */
export function redisTimeouts(config: WarrantConfig): { commandTimeoutMs: number; connectTimeoutMs: number } {
  return {
    commandTimeoutMs: config.redis?.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeoutMs: config.redis?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
}
