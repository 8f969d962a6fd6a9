import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryReplayCache } from './memory-replay-cache.ts';
import { replayCacheContract } from './replay-cache-contract.ts';

let clock = 1_900_000_000;

replayCacheContract('memory', {
  create: () => new MemoryReplayCache({ now: () => clock, sweepIntervalMs: 0 }),
  now: () => clock,
  advancePast: async (epochSeconds) => {
    clock = Math.max(clock, epochSeconds + 1);
  },
});

describe('MemoryReplayCache', () => {
  test('when full of live entries it fails closed and counts the refusal', async () => {
    const now = 1_000;
    const cache = new MemoryReplayCache({ maxEntries: 2, sweepIntervalMs: 0, now: () => now });
    assert.equal(await cache.consume('a', now + 60, now), true);
    assert.equal(await cache.consume('b', now + 60, now), true);
    assert.equal(await cache.consume('c', now + 60, now), false);
    assert.equal(cache.refused, 1);
    assert.equal(cache.size, 2);
    // Known keys still answer as replays, not as refusals.
    assert.equal(await cache.consume('a', now + 60, now), false);
    assert.equal(cache.refused, 1);
    await cache.close();
  });

  test('when full it drops expired entries before refusing', async () => {
    let now = 1_000;
    const cache = new MemoryReplayCache({ maxEntries: 2, sweepIntervalMs: 0, now: () => now });
    assert.equal(await cache.consume('a', now + 10, now), true);
    assert.equal(await cache.consume('b', now + 60, now), true);
    now += 11;
    assert.equal(await cache.consume('c', now + 60, now), true);
    assert.equal(cache.refused, 0);
    assert.equal(cache.size, 2);
    assert.equal(await cache.consume('b', now + 60, now), false);
    assert.equal(await cache.consume('c', now + 60, now), false);
    await cache.close();
  });

  test('an expired key is replaced in place even when the cache is full', async () => {
    let now = 1_000;
    const cache = new MemoryReplayCache({ maxEntries: 1, sweepIntervalMs: 0, now: () => now });
    assert.equal(await cache.consume('a', now + 10, now), true);
    now += 10;
    assert.equal(await cache.consume('a', now + 10, now), true);
    assert.equal(cache.refused, 0);
    await cache.close();
  });

  test('sweep drops only expired entries', async () => {
    let now = 1_000;
    const cache = new MemoryReplayCache({ sweepIntervalMs: 0, now: () => now });
    await cache.consume('short', now + 5, now);
    await cache.consume('long', now + 500, now);
    now += 5;
    assert.equal(cache.sweep(), 1);
    assert.equal(cache.size, 1);
    assert.equal(await cache.consume('long', now + 500, now), false);
    await cache.close();
  });

  test('the background sweep runs on its interval and close stops it', async () => {
    let now = 1_000;
    const cache = new MemoryReplayCache({ sweepIntervalMs: 5, now: () => now });
    await cache.consume('a', now + 1, now);
    now += 2;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(cache.size, 0);
    await cache.close();
  });

  test('options are validated at construction', () => {
    assert.throws(() => new MemoryReplayCache({ maxEntries: 0 }), TypeError);
    assert.throws(() => new MemoryReplayCache({ maxEntries: 1.5 }), TypeError);
    assert.throws(() => new MemoryReplayCache({ sweepIntervalMs: -1 }), TypeError);
  });
});
