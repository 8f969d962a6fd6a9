import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { REDIS_URL, requireRedis } from '../../test/support/services.ts';
import { replayCacheContract } from '../core/dpop/replay-cache-contract.ts';
import { HotStateUnavailableError, ReplayStateLostError } from '../core/dpop/replay-errors.ts';
import { RedisReplayCache } from './redis-replay-cache.ts';

await requireRedis();
const prefix = `warrant:test:replay:${randomUUID()}:`;
const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const nowS = () => Date.now() / 1000;

after(async () => {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
});

replayCacheContract('redis', {
  create: () => new RedisReplayCache(client, { prefix }),
  now: nowS,
  // Redis keeps a key through its EXAT second; wait until just after it.
  advancePast: async (epochSeconds) => {
    const wait = epochSeconds * 1000 + 50 - Date.now();
    if (wait > 0) await sleep(wait);
  },
});

describe('RedisReplayCache', () => {
  test('keys are stored under the prefix with an absolute expiry', async () => {
    const cache = new RedisReplayCache(client, { prefix });
    const expiresAt = Math.floor(nowS()) + 120;
    assert.equal(await cache.consume('inspect', expiresAt, nowS()), true);
    assert.equal(await client.get(`${prefix}inspect`), '1');
    assert.equal(await client.expiretime(`${prefix}inspect`), expiresAt);
  });

  test('a fractional expiry is rounded up, never down', async () => {
    const cache = new RedisReplayCache(client, { prefix });
    const expiresAt = Math.floor(nowS()) + 120.2;
    assert.equal(await cache.consume('fraction', expiresAt, nowS()), true);
    assert.equal(await client.expiretime(`${prefix}fraction`), Math.ceil(expiresAt));
  });

  test('a cache opened from a URL owns and quits its connection', async () => {
    const cache = new RedisReplayCache(REDIS_URL, { prefix });
    assert.equal(await cache.consume('owned', nowS() + 60, nowS()), true);
    assert.equal(await cache.consume('owned', nowS() + 60, nowS()), false);
    await cache.close();
    await assert.rejects(cache.consume('after-close', nowS() + 60, nowS()), HotStateUnavailableError);
  });

  test('a caller-supplied client is left open by close()', async () => {
    const cache = new RedisReplayCache(client, { prefix });
    await cache.close();
    assert.equal(await client.ping(), 'PONG');
  });

  test('constructor arguments are validated', () => {
    assert.throws(() => new RedisReplayCache('http://127.0.0.1:6379'), TypeError);
    assert.throws(() => new RedisReplayCache({} as never), TypeError);
    assert.throws(() => new RedisReplayCache(REDIS_URL, { commandTimeoutMs: 0 }), TypeError);
  });
});

describe('RedisReplayCache: a Redis that lost its memory', () => {
  test('first contact with a fresh prefix dates the loss at the server start, so nothing is refused', async () => {
    const own = `warrant:test:replay:${randomUUID()}:`;
    const cache = new RedisReplayCache(client, { prefix: own });
    try {
      assert.equal(await cache.consume('k', nowS() + 60, nowS() - 5), true);
      const info = await client.info('server');
      const uptime = Number(info.match(/^uptime_in_seconds:(\d+)/m)![1]);
      const serverNow = Number(info.match(/^server_time_usec:(\d+)/m)![1]) / 1000;
      assert.ok(Math.abs(cache.lostAt - (serverNow - uptime * 1000)) < 2000, 'the server start');
    } finally {
      await client.del(own, `${own}k`);
    }
  });

  test('keys usable before the loss are refused with WARRANT_REPLAY_STATE_LOST; later ones are accepted', async () => {
    const own = `warrant:test:replay:${randomUUID()}:`;
    const cache = new RedisReplayCache(client, { prefix: own });
    try {
      const issued = nowS();
      assert.equal(await cache.consume('captured', issued + 60, issued - 5), true);
      assert.equal(await cache.consume('captured', issued + 60, issued - 5), false);
      // The memory goes (as on a restart without persistence or a flush): the record and the sentinel.
      await client.del(own, `${own}captured`);
      await sleep(20);
      await assert.rejects(cache.consume('captured', issued + 60, issued - 5), (e: unknown) => {
        assert.ok(e instanceof ReplayStateLostError);
        assert.equal(e.code, 'WARRANT_REPLAY_STATE_LOST');
        return true;
      });
      assert.ok(cache.lostAt > issued * 1000, 'the loss is dated when it was seen');
      // Still refused on a second try (nothing was recorded), and so is any other key usable before it.
      await assert.rejects(cache.consume('captured', issued + 60, issued - 5), ReplayStateLostError);
      await assert.rejects(cache.consume('other-old', issued + 60, issued - 5), ReplayStateLostError);
      // A key that became usable after the loss is accepted, once; an expired key answers as before.
      const later = cache.lostAt / 1000 + 0.001;
      assert.equal(await cache.consume('fresh', later + 60, later), true);
      assert.equal(await cache.consume('fresh', later + 60, later), false);
      assert.equal(await cache.consume('expired', issued - 100, issued - 200), true);
      // Another replica (another cache on the same prefix) learns of the loss from the sentinel.
      const replica = new RedisReplayCache(client, { prefix: own });
      await assert.rejects(replica.consume('old-elsewhere', issued + 60, issued - 5), ReplayStateLostError);
      assert.equal(replica.lostAt, cache.lostAt);
    } finally {
      const keys = await client.keys(`${own}*`);
      await client.del(own, ...keys);
    }
  });
});

describe('RedisReplayCache: an unreachable Redis fails fast and closed', () => {
  test('nothing listening: consume rejects HotStateUnavailableError within a second', async () => {
    const cache = new RedisReplayCache('redis://127.0.0.1:1', { prefix, connectTimeoutMs: 200 });
    try {
      const started = performance.now();
      await assert.rejects(cache.consume('k', nowS() + 60, nowS()), (e: unknown) => {
        assert.ok(e instanceof HotStateUnavailableError, String(e));
        assert.equal(e.code, 'WARRANT_HOT_STATE_UNAVAILABLE');
        return true;
      });
      assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
      await assert.rejects(cache.ping(), HotStateUnavailableError);
    } finally {
      await cache.close();
    }
  });

  test('a server that accepts and never answers: consume rejects within the connect timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const cache = new RedisReplayCache(`redis://127.0.0.1:${port}`, {
      prefix,
      commandTimeoutMs: 300,
      connectTimeoutMs: 300,
    });
    try {
      const started = performance.now();
      await assert.rejects(cache.consume('k', nowS() + 60, nowS()), HotStateUnavailableError);
      const ms = performance.now() - started;
      assert.ok(ms >= 250 && ms < 1500, `${ms} ms`);
    } finally {
      await cache.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
