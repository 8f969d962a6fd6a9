/**
 * Hot state: what the replicas of a deployment share for seconds to minutes — the single-use `jti`s of DPoP
 * proofs and client assertions, the relay of revocations between STS replicas, and later the counters of
 * budgets and breakers. It lives in this process's memory, or in Redis when several processes must agree.
 *
 * ONE rule decides which ({@link hotStateKind}), ONE factory opens it ({@link openHotState}); no server
 * picks an adapter itself.
 *
 * - STS (`sts`): Redis whenever `redis` is configured — its replicas share one store, so a replayed
 *   assertion or proof must be refused by every one of them and every revocation must reach every
 *   replica's feed; memory otherwise.
 * - Gateway (`gateway`): Redis when `gateway.replayCache: redis` (which requires `redis`); memory
 *   otherwise, so one gateway replica runs without Redis even where the STS uses it.
 *
 * With Redis, opening fails fast: a Redis that does not answer within `redis.connectTimeoutMs` is a
 * {@link HotStateUnavailableError} at start-up, before anything listens. Later failures fail closed per
 * request (503) and are counted in `warrant_hot_state_errors_total`.
 */
import type { Redis } from 'ioredis';
import type { WarrantConfig } from '../config/types.ts';
import {
  HotStateUnavailableError,
  MemoryReplayCache,
  openHotStateRedis,
  RedisReplayCache,
  type ReplayCache,
  redisTimeouts,
} from '../replay/index.ts';
import { RevocationBus } from '../sts/revocation-bus.ts';
import type { Sts } from '../sts/sts.ts';
import type { HotStateMetrics } from '../telemetry/index.ts';

export type HotStateKind = 'memory' | 'redis';

/** Who uses the hot state: the rule differs (see the module comment). */
export type HotStateUser = 'sts' | 'gateway';

/**
 * The rule: where `user`'s hot state lives under `config`. A gateway asked for a Redis replay cache with
 * no `redis` configured is a TypeError (the configuration schema refuses it already).
 */
export function hotStateKind(config: WarrantConfig, user: HotStateUser): HotStateKind {
  if (user === 'sts') return config.redis ? 'redis' : 'memory';
  if (user === 'gateway') {
    if (config.gateway.replayCache !== 'redis') return 'memory';
    if (!config.redis) throw new TypeError('gateway.replayCache is redis but no redis is configured');
    return 'redis';
  }
  throw new TypeError(`hot state: unknown user ${JSON.stringify(user)}`);
}

export interface HotState {
  readonly kind: HotStateKind;
  /**
   * The replay cache (DPoP proofs, client assertions). Owned by this hot state: it has no `close`; close
   * the hot state instead.
   */
  readonly replay: ReplayCache;
  /**
   * Starts relaying `sts`'s revocations to and from the other STS replicas (Redis pub/sub); `undefined`
   * in memory (one replica: its feed is complete by itself). Subscribed when it resolves; closed with the
   * hot state. Rejects when Redis cannot be reached.
   */
  relayRevocations(sts: Sts, options?: RelayOptions): Promise<RevocationBus | undefined>;
  /** Resolves when the hot state answers now (Redis: a PING within the command timeout). */
  ping(): Promise<void>;
  /** Closes the relay and the connections. Idempotent. */
  close(): Promise<void>;
}

export interface RelayOptions {
  /** Another replica rotated the signing key (a verified bus message): re-read the keys. */
  readonly onKeysChanged?: () => void;
}

export interface HotStateOptions {
  /** Where failed hot-state operations are counted (`replay`, `revocation-relay`). */
  readonly metrics?: HotStateMetrics;
  /** Called with connection and relay errors (never with request contents). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Opens `user`'s hot state by the rule. Memory: at once. Redis: one connection for the replay cache,
 * connected and answering a PING before this resolves; rejects with {@link HotStateUnavailableError}
 * (nothing left open) when it does not within the connect timeout.
 */
export async function openHotState(
  config: WarrantConfig,
  user: HotStateUser,
  options: HotStateOptions = {},
): Promise<HotState> {
  const kind = hotStateKind(config, user);
  const count = (operation: string) => (error: unknown) => {
    options.metrics?.error(operation);
    options.onError?.(error);
  };
  if (kind === 'memory') return memoryHotState();
  const url = config.redis!.url;
  const timeouts = redisTimeouts(config);
  // Its connection errors repeat on every reconnection attempt while Redis is down: not reported; the
  // operations that fail meanwhile are (counted, and refused with 503).
  const client = openHotStateRedis(url, { ...timeouts, name: `warrant-${user}-replay` });
  try {
    await connected(client, timeouts.connectTimeoutMs, url);
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw error instanceof HotStateUnavailableError
      ? error
      : new HotStateUnavailableError(`Redis at ${redactUrl(url)} did not answer`, { cause: error });
  }
  const cache = new RedisReplayCache(client, timeouts);
  const relays: RevocationBus[] = [];
  let closing: Promise<void> | undefined;
  return {
    kind,
    replay: counted(cache, options.metrics),
    async relayRevocations(sts, relay = {}) {
      const bus = await RevocationBus.start(sts, url, {
        ...timeouts,
        onError: count('revocation-relay'),
        ...(relay.onKeysChanged ? { onKeysChanged: relay.onKeysChanged } : {}),
      });
      relays.push(bus);
      return bus;
    },
    ping: () => cache.ping(),
    close() {
      closing ??= (async () => {
        await Promise.all(relays.map((bus) => bus.close()));
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      })();
      return closing;
    },
  };
}

function memoryHotState(): HotState {
  const cache = new MemoryReplayCache();
  return {
    kind: 'memory',
    replay: {
      consume: (key, expiresAt, validFrom) => cache.consume(key, expiresAt, validFrom),
      ping: async () => {},
    },
    relayRevocations: async () => undefined,
    ping: async () => {},
    close: async () => cache.close(),
  };
}

/**
 * The replay cache as its users see it: no `close` (the hot state owns the connection), and a failed
 * consume counted before it is rethrown. A replay or a lost memory is an answer, not a failure.
 */
function counted(cache: RedisReplayCache, metrics: HotStateMetrics | undefined): ReplayCache {
  if (!metrics) return { consume: cache.consume.bind(cache), ping: cache.ping.bind(cache) };
  return {
    consume: (key, expiresAt, validFrom) =>
      cache.consume(key, expiresAt, validFrom).catch((error: unknown) => {
        if (error instanceof HotStateUnavailableError) metrics.error('replay');
        throw error;
      }),
    ping: () => cache.ping(),
  };
}

/** Resolves when `client` is ready; rejects at its first connection error or after `timeoutMs`. */
function connected(client: Redis, timeoutMs: number, url: string): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const fail = (cause?: unknown) => {
      done();
      const what = cause === undefined ? `did not answer within ${timeoutMs} ms` : 'is unreachable';
      reject(
        new HotStateUnavailableError(
          `Redis at ${redactUrl(url)} ${what}`,
          cause === undefined ? undefined : { cause },
        ),
      );
    };
    const ready = () => {
      done();
      resolve();
    };
    const timer = setTimeout(fail, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      client.off('ready', ready);
      client.off('error', fail);
      client.off('end', fail);
    };
    client.once('ready', ready);
    client.once('error', fail);
    client.once('end', fail);
  });
}

/** The URL without its password, for messages and logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}
