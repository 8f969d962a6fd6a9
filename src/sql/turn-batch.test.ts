import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { turnBatch } from './turn-batch.ts';

/** A batcher over doubling, recording what `one` and `many` were asked. */
function doubling(options: { failMany?: boolean; failOne?: (n: number) => boolean; maxBatch?: number } = {}) {
  const ones: number[] = [];
  const manys: number[][] = [];
  const batch = turnBatch(
    async (n: number) => {
      ones.push(n);
      if (options.failOne?.(n)) throw new Error(`no ${n}`);
      return n * 2;
    },
    async (ns: readonly number[]) => {
      manys.push([...ns]);
      if (options.failMany) throw new Error('the batch failed');
      return ns.map((n) => n * 2);
    },
    options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch },
  );
  return { batch, ones, manys };
}

describe('turnBatch', () => {
  test('a lone call runs on its own', async () => {
    const { batch, ones, manys } = doubling();
    assert.equal(await batch(3), 6);
    assert.deepEqual(ones, [3]);
    assert.deepEqual(manys, []);
  });

  test('calls made in one turn run as one batch, each answered with its own result', async () => {
    const { batch, ones, manys } = doubling();
    assert.deepEqual(await Promise.all([batch(1), batch(2), batch(3)]), [2, 4, 6]);
    assert.deepEqual(manys, [[1, 2, 3]]);
    assert.deepEqual(ones, []);
  });

  test('calls in different turns are different batches', async () => {
    const { batch, manys, ones } = doubling();
    const first = Promise.all([batch(1), batch(2)]);
    await new Promise((resolve) => setImmediate(resolve));
    const second = Promise.all([batch(3), batch(4)]);
    assert.deepEqual(await Promise.all([first, second]), [
      [2, 4],
      [6, 8],
    ]);
    assert.deepEqual(manys, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(ones, []);
  });

  test('a batch that fails whole is retried one call at a time: each gets its own answer or error', async () => {
    const { batch, ones, manys } = doubling({ failMany: true, failOne: (n) => n === 2 });
    const results = await Promise.allSettled([batch(1), batch(2), batch(3)]);
    assert.deepEqual(manys, [[1, 2, 3]]);
    assert.deepEqual(ones, [1, 2, 3]);
    assert.deepEqual(results[0], { status: 'fulfilled', value: 2 });
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /no 2/);
    assert.deepEqual(results[2], { status: 'fulfilled', value: 6 });
  });

  test('a turn larger than maxBatch is split', async () => {
    const { batch, manys, ones } = doubling({ maxBatch: 2 });
    assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(batch)), [2, 4, 6, 8, 10]);
    assert.deepEqual(manys, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(ones, [5]);
  });

  test('a batch answering the wrong number of results rejects every call in it', async () => {
    const batch = turnBatch(
      async (n: number) => n,
      async (ns: readonly number[]) => ns.slice(1),
    );
    const results = await Promise.allSettled([batch(1), batch(2)]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason), /a batch of 2 answered 1 results/);
    }
  });

  test('a synchronous throw of one or many is a rejection, not an escape', async () => {
    const batch = turnBatch(
      (n: number): Promise<number> => {
        if (n < 0) throw new Error('negative');
        return Promise.resolve(n);
      },
      (): Promise<number[]> => {
        throw new Error('many threw');
      },
    );
    await assert.rejects(batch(-1), /negative/);
    const results = await Promise.allSettled([batch(1), batch(-2)]);
    assert.deepEqual(results[0], { status: 'fulfilled', value: 1 });
    assert.equal(results[1].status, 'rejected');
  });

  test('maxBatch must be a positive integer', () => {
    for (const maxBatch of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () =>
          turnBatch(
            async (n: number) => n,
            async (ns: readonly number[]) => ns,
            { maxBatch },
          ),
        /maxBatch must be a positive integer/,
      );
    }
  });
});
