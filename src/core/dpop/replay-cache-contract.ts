import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReplayCache } from './replay-cache.ts';

/** How the contract drives one adapter. */
export interface ReplayCacheHarness {
  /** A fresh, empty cache (called once per suite). */
  create(): ReplayCache | Promise<ReplayCache>;
  /** The time in epoch seconds as the adapter sees it. */
  now(): number;
  /** Returns once `now()` is past `epochSeconds`: a frozen clock moves, a real one is waited for. */
  advancePast(epochSeconds: number): Promise<void>;
  /** Cleanup after the suite (the suite already calls `cache.close()`). */
  teardown?(): Promise<void>;
}

let unique = 0;
const key = (label: string) => `${label}:${process.pid}:${++unique}`;

/** The replay-cache contract (DESIGN §1: one suite run against every adapter). */
export function replayCacheContract(name: string, harness: ReplayCacheHarness): void {
  describe(`ReplayCache contract: ${name}`, () => {
    let cache: ReplayCache;
    before(async () => {
      cache = await harness.create();
    });
    after(async () => {
      await cache.close?.();
      await harness.teardown?.();
    });

    test('the first consume of a key is true, the second false', async () => {
      const k = key('once');
      assert.equal(await cache.consume(k, harness.now() + 60, harness.now()), true);
      assert.equal(await cache.consume(k, harness.now() + 60, harness.now()), false);
    });

    test('a replay stays refused even with a later expiry', async () => {
      const k = key('extend');
      assert.equal(await cache.consume(k, harness.now() + 60, harness.now()), true);
      assert.equal(await cache.consume(k, harness.now() + 3600, harness.now()), false);
    });

    test('different keys are independent', async () => {
      const a = key('a');
      const b = key('b');
      assert.equal(await cache.consume(a, harness.now() + 60, harness.now()), true);
      assert.equal(await cache.consume(b, harness.now() + 60, harness.now()), true);
      assert.equal(await cache.consume(a, harness.now() + 60, harness.now()), false);
      assert.equal(await cache.consume(b, harness.now() + 60, harness.now()), false);
    });

    test('a key is accepted again once its record has expired', async () => {
      const k = key('expiry');
      const expiresAt = Math.floor(harness.now()) + 1;
      assert.equal(await cache.consume(k, expiresAt, harness.now()), true);
      assert.equal(await cache.consume(k, expiresAt, harness.now()), false);
      await harness.advancePast(expiresAt);
      assert.equal(await cache.consume(k, harness.now() + 60, harness.now()), true);
      assert.equal(await cache.consume(k, harness.now() + 60, harness.now()), false);
    });

    test('an expiry already in the past records nothing', async () => {
      const k = key('past');
      const past = Math.floor(harness.now()) - 10;
      assert.equal(await cache.consume(k, past, harness.now()), true);
      assert.equal(await cache.consume(k, past, harness.now()), true);
      assert.equal(await cache.consume(k, harness.now() + 60, harness.now()), true);
      assert.equal(await cache.consume(k, harness.now() + 60, harness.now()), false);
    });

    test('200 concurrent consumes of one key: exactly one is true', async () => {
      const k = key('race');
      const expiresAt = harness.now() + 60;
      const results = await Promise.all(
        Array.from({ length: 200 }, () => cache.consume(k, expiresAt, harness.now())),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('invalid arguments are TypeErrors, not answers', async () => {
      await assert.rejects(cache.consume('', harness.now() + 60, harness.now()), TypeError);
      await assert.rejects(cache.consume('x'.repeat(513), harness.now() + 60, harness.now()), TypeError);
      await assert.rejects(cache.consume(key('nan'), Number.NaN, harness.now()), TypeError);
      await assert.rejects(cache.consume(key('inf'), Number.POSITIVE_INFINITY, harness.now()), TypeError);
      await assert.rejects(cache.consume(key('neg'), -1, harness.now()), TypeError);
      await assert.rejects(cache.consume(key('from'), harness.now() + 60, Number.NaN), TypeError);
    });
  });
}
