import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { freePort, OwnRedis } from '../../test/support/redis-server.ts';
import { REDIS_URL, requireRedis } from '../../test/support/services.ts';
import { loadConfig } from '../config/load-config.ts';
import type { ConfigOverrides, WarrantConfig } from '../config/types.ts';
import { createMetrics } from '../telemetry/index.ts';
import { hotStateKind, openHotState } from './hot-state.ts';

const config = (overrides: ConfigOverrides = {}): WarrantConfig => loadConfig(undefined, overrides);
const nowS = () => Math.floor(Date.now() / 1000);

describe('the hot-state rule', () => {
  test('STS: memory without redis, Redis whenever redis is configured', () => {
    assert.equal(hotStateKind(config(), 'sts'), 'memory');
    assert.equal(hotStateKind(config({ redis: { url: REDIS_URL } }), 'sts'), 'redis');
  });

  test('gateway: memory unless gateway.replayCache is redis, even with redis configured', () => {
    assert.equal(hotStateKind(config(), 'gateway'), 'memory');
    assert.equal(hotStateKind(config({ redis: { url: REDIS_URL } }), 'gateway'), 'memory');
    assert.equal(
      hotStateKind(config({ redis: { url: REDIS_URL }, gateway: { replayCache: 'redis' } }), 'gateway'),
      'redis',
    );
  });

  test('a gateway asked for Redis with no redis configured is a TypeError, not a silent memory cache', () => {
    const unvalidated = { ...config(), gateway: { ...config().gateway, replayCache: 'redis' } };
    assert.throws(() => hotStateKind(unvalidated as WarrantConfig, 'gateway'), TypeError);
  });
});

describe('openHotState', () => {
  test('memory: a replay cache that refuses the second use, no relay, nothing to close but itself', async () => {
    const hot = await openHotState(config(), 'sts');
    try {
      assert.equal(hot.kind, 'memory');
      const key = `k-${randomUUID()}`;
      assert.equal(await hot.replay.consume(key, nowS() + 60, nowS()), true);
      assert.equal(await hot.replay.consume(key, nowS() + 60, nowS()), false);
      assert.equal(hot.replay.close, undefined, 'the hot state owns the cache');
      assert.equal(await hot.relayRevocations({} as never), undefined);
      await hot.ping();
    } finally {
      await hot.close();
    }
  });

  test('Redis: connected and answering before it resolves; one consume wins', async () => {
    await requireRedis();
    const hot = await openHotState(config({ redis: { url: REDIS_URL } }), 'sts');
    try {
      assert.equal(hot.kind, 'redis');
      await hot.ping();
      const key = `test:${randomUUID()}`;
      assert.equal(await hot.replay.consume(key, nowS() + 5, nowS()), true);
      assert.equal(await hot.replay.consume(key, nowS() + 5, nowS()), false);
    } finally {
      await hot.close();
      await hot.close();
    }
  });

  test('Redis refusing connections: fails fast with WARRANT_HOT_STATE_UNAVAILABLE, well inside the connect timeout', async () => {
    const url = `redis://:secret-password@127.0.0.1:${await freePort()}`;
    const started = Date.now();
    await assert.rejects(
      openHotState(config({ redis: { url, connectTimeoutMs: 5000 } }), 'sts'),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'WARRANT_HOT_STATE_UNAVAILABLE');
        assert.match(error.message, /unreachable/);
        assert.doesNotMatch(error.message, /secret-password/, 'no password in the message');
        return true;
      },
    );
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
  });

  test('Redis that accepts and never answers: fails after the connect timeout, not later', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      await assert.rejects(
        openHotState(
          config({
            redis: { url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 },
            gateway: { replayCache: 'redis' },
          }),
          'gateway',
        ),
        { code: 'WARRANT_HOT_STATE_UNAVAILABLE' },
      );
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a consume that Redis cannot answer fails closed and is counted in warrant_hot_state_errors_total', async () => {
    const redis = await OwnRedis.start();
    const metrics = createMetrics('sts');
    const hot = await openHotState(config({ redis: { url: redis.url, commandTimeoutMs: 200 } }), 'sts', {
      metrics: metrics.hotState,
    });
    try {
      // Usable from after this fresh Redis started (a key from before may have been used before it).
      assert.equal(await hot.replay.consume(`k-${randomUUID()}`, nowS() + 5, nowS() + 2), true);
      await redis.kill();
      await assert.rejects(hot.replay.consume(`k-${randomUUID()}`, nowS() + 5, nowS()), {
        code: 'WARRANT_HOT_STATE_UNAVAILABLE',
      });
      await assert.rejects(hot.ping(), { code: 'WARRANT_HOT_STATE_UNAVAILABLE' });
      const { body } = await metrics.render();
      assert.match(body, /^warrant_hot_state_errors_total\{operation="replay"\} 1$/m);
    } finally {
      await hot.close();
      await redis.stop();
    }
  });
});
