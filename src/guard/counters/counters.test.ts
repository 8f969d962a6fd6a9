import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { REDIS_URL, requireRedis } from '../../../test/support/services.ts';
import { countersContract } from './contract.ts';
import { MemoryCounters } from './memory-counters.ts';
import { RedisCounters } from './redis-counters.ts';

const T = 1_800_000_040; // 40 s into a 60 s window

countersContract('guard counters', {
  'counts per fixed window, with the previous window and the time left': async (c) => {
    const [a] = await c.run([{ op: 'count', key: 'n:x', window: 60, by: 1 }] as const, T);
    assert.deepEqual(a, { current: 1, previous: 0, elapsed: 40 / 60, baseline: null, resetIn: 20 });
    const [b, other] = await c.run(
      [
        { op: 'count', key: 'n:x', window: 60, by: 2 },
        { op: 'count', key: 'n:y', window: 60, by: 1 },
      ] as const,
      T + 5,
    );
    assert.equal(b.current, 3);
    assert.equal(other.current, 1, 'keys count apart');
    const [next] = await c.run([{ op: 'count', key: 'n:x', window: 60, by: 1 }] as const, T + 20);
    assert.deepEqual([next.current, next.previous, next.resetIn], [1, 3, 60], 'a new window starts at zero');
    const [later] = await c.run([{ op: 'count', key: 'n:x', window: 60, by: 0 }] as const, T + 200);
    assert.deepEqual([later.current, later.previous], [0, 0], 'old windows are gone');
  },
  'keeps a moving baseline (EWMA) of completed windows, decaying over empty ones': async (c) => {
    const op = { op: 'count', key: 'n:b', window: 60, by: 10, alpha: 0.5 } as const;
    const [first] = await c.run([op], T);
    assert.equal(first.baseline, null, 'no completed window yet');
    const [second] = await c.run([op], T + 60);
    assert.equal(second.baseline, 10, 'the first completed window is the baseline');
    const [third] = await c.run([{ ...op, by: 30 }], T + 120);
    assert.equal(third.baseline, 10, 'the second window (10) folded in: 0.5·10 + 0.5·10');
    const [fourth] = await c.run([{ ...op, by: 1 }], T + 180);
    assert.equal(fourth.baseline, 20, '0.5·30 + 0.5·10');
    const [gap] = await c.run([{ ...op, by: 1 }], T + 360);
    // Window of T+180 held 1: 0.5·1 + 0.5·20 = 10.5, then two empty windows halve it twice.
    assert.equal(gap.baseline, 10.5 / 4);
  },
  'state values: get, compare-and-set, delete, expiry': async (c) => {
    const [none, set, again, value] = await c.run(
      [
        { op: 'get', key: 's:k' },
        { op: 'cas', key: 's:k', expect: null, value: 'open', ttl: 30 },
        { op: 'cas', key: 's:k', expect: null, value: 'other', ttl: 30 },
        { op: 'get', key: 's:k' },
      ] as const,
      T,
    );
    assert.deepEqual([none, set, again, value], [null, true, false, 'open']);
    const [swap, gone] = await c.run(
      [
        { op: 'cas', key: 's:k', expect: 'open', value: null, ttl: 1 },
        { op: 'get', key: 's:k' },
      ] as const,
      T,
    );
    assert.deepEqual([swap, gone], [true, null]);
    await c.run([{ op: 'cas', key: 's:k', expect: null, value: 'v', ttl: 30 }] as const, T);
    assert.deepEqual(await c.states('s:', T), [{ key: 's:k', value: 'v' }]);
    const [deleted, twice] = await c.run(
      [
        { op: 'del', key: 's:k' },
        { op: 'del', key: 's:k' },
      ] as const,
      T,
    );
    assert.deepEqual([deleted, twice], [true, false]);
  },
  'plain counters, sets and clearing a window': async (c) => {
    const [one, two, text] = await c.run(
      [
        { op: 'incr', key: 'p:x', ttl: 60 },
        { op: 'incr', key: 'p:x', ttl: 60 },
        { op: 'get', key: 'p:x' },
      ] as const,
      T,
    );
    assert.deepEqual([one, two, text], [1, 2, '2']);
    const [a, b, dup, has, hasNot] = await c.run(
      [
        { op: 'sadd', key: 'sys:t', member: 'https://b', ttl: 60, list: true },
        { op: 'sadd', key: 'sys:t', member: 'https://a', ttl: 60, list: true },
        { op: 'sadd', key: 'sys:t', member: 'https://a', ttl: 60 },
        { op: 'has', key: 'sys:t', member: 'https://b' },
        { op: 'has', key: 'sys:t', member: 'https://c' },
      ] as const,
      T,
    );
    assert.deepEqual(a, { added: true, size: 1, members: ['https://b'] });
    assert.deepEqual(b, { added: true, size: 2, members: ['https://a', 'https://b'] });
    assert.deepEqual(dup, { added: false, size: 2, members: [] });
    assert.deepEqual([has, hasNot], [true, false]);
    await c.run([{ op: 'count', key: 'n:c', window: 60, by: 5 }] as const, T);
    const [cleared] = await c.run([{ op: 'clear', key: 'n:c', window: 60 }] as const, T);
    const [after] = await c.run([{ op: 'count', key: 'n:c', window: 60, by: 1 }] as const, T);
    assert.deepEqual([cleared, after.current], [true, 1]);
  },
  'a bad batch is refused before it reaches the store': async (c) => {
    await assert.rejects(c.run([{ op: 'count', key: '', window: 60, by: 1 }] as const, T), TypeError);
    await assert.rejects(c.run([{ op: 'count', key: 'k', window: 0, by: 1 }] as const, T), TypeError);
    await assert.rejects(c.run([{ op: 'incr', key: 'k', ttl: 0 }] as const, T), TypeError);
  },
  'keys with glob characters are listed literally': async (c) => {
    await c.run(
      [
        { op: 'cas', key: 's:agent:a*', expect: null, value: '1', ttl: 30 },
        { op: 'cas', key: 's:agent:ab', expect: null, value: '2', ttl: 30 },
      ] as const,
      T,
    );
    assert.deepEqual(
      (await c.states('s:agent:a*', T)).map((s) => s.key),
      ['s:agent:a*'],
    );
  },
});

test('memory counters sweep expired keys as they go: the map holds the live keys only', async () => {
  const c = new MemoryCounters();
  for (let i = 0; i < 1000; i++) await c.run([{ op: 'incr', key: `p:${i}`, ttl: 10 }] as const, T);
  // Later batches (each sweeps a few entries) leave none of the expired ones behind.
  for (let i = 0; i < 100; i++) await c.run([{ op: 'incr', key: `q:${i % 10}`, ttl: 1000 }] as const, T + 20);
  assert.equal(c.size, 10);
});

test('memory counters forget expired keys (bounded by the live ones)', async () => {
  const c = new MemoryCounters();
  for (let i = 0; i < 100; i++) await c.run([{ op: 'incr', key: `p:${i}`, ttl: 10 }] as const, T);
  assert.equal((await c.states('p:', T)).length, 0, 'plain counters are not states');
  await c.run([{ op: 'cas', key: 's:x', expect: null, value: 'v', ttl: 5 }] as const, T);
  assert.equal((await c.states('s:', T + 4)).length, 1);
  assert.equal((await c.states('s:', T + 5)).length, 0, 'expired at its ttl');
});

test('in Redis every key the counters write has an expiry (nothing grows without bound)', async () => {
  const url = await requireRedis(REDIS_URL);
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const prefix = `warrant:test:${randomBytes(6).toString('hex')}:`;
  const c = new RedisCounters(client, { prefix });
  try {
    await c.run(
      [
        { op: 'count', key: 'n:a', window: 60, by: 1, alpha: 0.2 },
        { op: 'cas', key: 's:a', expect: null, value: 'open', ttl: 90 },
        { op: 'incr', key: 'p:a', ttl: 30 },
        { op: 'sadd', key: 'sys:t', member: 'x', ttl: 3600 },
      ] as const,
      Math.floor(Date.now() / 1000),
    );
    const keys = await client.keys(`${prefix}*`);
    assert.equal(keys.length, 5, keys.join(', '));
    for (const key of keys) {
      const ttl = await client.ttl(key);
      assert.ok(ttl > 0, `${key} has ttl ${ttl}`);
    }
  } finally {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  }
});
