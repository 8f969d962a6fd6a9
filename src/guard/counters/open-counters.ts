/**
 * Opens the guard's counters of a configuration (`guard.counters`): memory (default), or Redis (requires
 * `redis`; the hot-state connection options and timeouts of `redis.*`). Opening a Redis that does not
 * answer within `redis.connectTimeoutMs` fails at start-up; later failures fail closed per request.
 */
import type { Redis } from 'ioredis';
import type { WarrantConfig } from '../../config/types.ts';
import { openHotStateRedis, redisTimeouts } from '../../replay/redis-connection.ts';
import { type Counters, CountersUnavailableError } from './counters.ts';
import { MemoryCounters } from './memory-counters.ts';
import { RedisCounters } from './redis-counters.ts';

export type CountersKind = 'memory' | 'redis';

/** Where the counters live under `config` (a configuration built in code may leave the option out). */
export function countersKind(config: WarrantConfig): CountersKind {
  const kind = config.guard?.counters ?? 'memory';
  if (kind === 'redis' && !config.redis)
    throw new TypeError('guard.counters is redis but no redis is configured');
  return kind;
}

export async function openCounters(
  config: WarrantConfig,
  options: { prefix?: string } = {},
): Promise<Counters> {
  if (countersKind(config) === 'memory') return new MemoryCounters();
  const timeouts = redisTimeouts(config);
  const client = openHotStateRedis(config.redis!.url, { ...timeouts, name: 'warrant-guard-counters' });
  try {
    await ready(client, timeouts.connectTimeoutMs);
  } catch (cause) {
    client.disconnect();
    throw new CountersUnavailableError('the guard counters (Redis) are unreachable', { cause });
  }
  return new RedisCounters(client, { owned: true, ...(options.prefix ? { prefix: options.prefix } : {}) });
}

/** Resolves once `client` is ready; rejects at its first error or after `ms`. */
function ready(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', done);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = () => done();
    const timer = setTimeout(() => done(new Error(`no answer within ${ms} ms`)), ms);
    client.once('ready', onReady);
    client.once('error', done);
  });
}
