import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { replayCacheContract } from './contract.ts';
import { RedisReplayCache } from './redis-replay-cache.ts';

const REDIS_URL = process.env['WARRANT_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `warrant:test:replay:${randomUUID()}:`;
const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

after(async () => {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
});

replayCacheContract('redis', {
  create: () => new RedisReplayCache(client, { prefix }),
  now: () => Date.now() / 1000,
  // Redis keeps a key through its EXAT second; wait until just after it.
  advancePast: async (epochSeconds) => {
    const wait = epochSeconds * 1000 + 50 - Date.now();
    if (wait > 0) await sleep(wait);
  },
});

describe('RedisReplayCache', () => {
  test('keys are stored under the prefix with an absolute expiry', async () => {
    const cache = new RedisReplayCache(client, { prefix });
    const expiresAt = Math.floor(Date.now() / 1000) + 120;
    assert.equal(await cache.consume('inspect', expiresAt), true);
    assert.equal(await client.get(`${prefix}inspect`), '1');
    assert.equal(await client.expiretime(`${prefix}inspect`), expiresAt);
  });

  test('a fractional expiry is rounded up, never down', async () => {
    const cache = new RedisReplayCache(client, { prefix });
    const expiresAt = Math.floor(Date.now() / 1000) + 120.2;
    assert.equal(await cache.consume('fraction', expiresAt), true);
    assert.equal(await client.expiretime(`${prefix}fraction`), Math.ceil(expiresAt));
  });

  test('a cache opened from a URL owns and quits its connection', async () => {
    const cache = new RedisReplayCache(REDIS_URL, { prefix });
    assert.equal(await cache.consume('owned', Date.now() / 1000 + 60), true);
    assert.equal(await cache.consume('owned', Date.now() / 1000 + 60), false);
    await cache.close();
    await assert.rejects(cache.consume('after-close', Date.now() / 1000 + 60));
  });

  test('a caller-supplied client is left open by close()', async () => {
    const cache = new RedisReplayCache(client, { prefix });
    await cache.close();
    assert.equal(await client.ping(), 'PONG');
  });

  test('constructor arguments are validated', () => {
    assert.throws(() => new RedisReplayCache('http://127.0.0.1:6379'), TypeError);
    assert.throws(() => new RedisReplayCache({} as never), TypeError);
  });
});
