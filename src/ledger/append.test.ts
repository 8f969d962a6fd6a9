import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestsInFlight } from '../core/load.ts';
import { type BetweenBatches, GroupCommit } from './append.ts';
import type { DecisionRecord } from './decision-log.ts';
import { MerkleTree } from './merkle.ts';
import { toEntry } from './records.ts';
import { MemoryLedgerStore } from './store/memory-ledger-store.ts';
import type { LedgerEntry } from './store/ports.ts';

const record = (n: number): DecisionRecord => ({
  id: `d${n}`,
  kind: 'decision',
  time: new Date(1_750_000_000_000 + n).toISOString(),
  gateway: 'gw',
  decision: 'allow',
  txn: `txn-${n % 3}`,
});

/** A between-batches hook that records what the writer loop asked of it. */
function hook(): BetweenBatches & { due: boolean; runs: number; commits: number } {
  return {
    due: false,
    runs: 0,
    commits: 0,
    async run() {
      this.due = false;
      this.runs++;
    },
    committed() {
      this.commits++;
    },
  };
}

/** A memory store whose `appendBatch` waits for `release()` and records each batch's size. */
class GatedStore extends MemoryLedgerStore {
  readonly sizes: number[] = [];
  #open: () => void = () => {};
  #gate = new Promise<void>((resolve) => {
    this.#open = resolve;
  });

  override async appendBatch(entries: readonly LedgerEntry[]): Promise<void> {
    this.sizes.push(entries.length);
    await this.#gate;
    await super.appendBatch(entries);
  }

  release(): void {
    this.#open();
  }
}

/** A memory store that holds each batch until `step()` lets the oldest held one through. */
class SteppedStore extends MemoryLedgerStore {
  readonly sizes: number[] = [];
  readonly #held: (() => void)[] = [];
  fail = false;

  override async appendBatch(entries: readonly LedgerEntry[]): Promise<void> {
    this.sizes.push(entries.length);
    await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.fail) throw new Error('disk full');
    await super.appendBatch(entries);
  }

  /** Lets the oldest held batch through; resolves once it has been handled. */
  async step(): Promise<void> {
    while (this.#held.length === 0) await new Promise((r) => setImmediate(r));
    this.#held.shift()!();
    await new Promise((r) => setImmediate(r));
  }
}

/** Runs `fn` as a process serving `n` requests (the ledger's store and group commit choose by it). */
async function underLoad<T>(n: number, fn: () => Promise<T>): Promise<T> {
  requestsInFlight.count += n;
  try {
    return await fn();
  } finally {
    requestsInFlight.count -= n;
  }
}

/** A memory store whose `appendBatch` throws while `fail` is set. */
class FlakyStore extends MemoryLedgerStore {
  fail = true;

  override async appendBatch(entries: readonly LedgerEntry[]): Promise<void> {
    if (this.fail) throw new Error('disk full');
    await super.appendBatch(entries);
  }
}

describe('GroupCommit', () => {
  test('appends arriving while a batch is written go together into the next batch', async () => {
    const store = new GatedStore();
    const tree = new MerkleTree();
    const between = hook();
    const writer = new GroupCommit(store, tree, 4096, between);
    const first = writer.append(record(0));
    const rest = Array.from({ length: 9 }, (_, n) => writer.append(record(n + 1)));
    store.release();
    assert.deepEqual(await Promise.all([first, ...rest]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(store.sizes, [1, 9]);
    assert.equal(writer.batches, 2);
    assert.equal(writer.records, 10);
    assert.equal(tree.size, 10);
    assert.equal(between.commits, 2);
  });

  test('a batch holds at most maxBatch records', async () => {
    const store = new GatedStore();
    const writer = new GroupCommit(store, new MerkleTree(), 3, hook());
    const all = Array.from({ length: 8 }, (_, n) => writer.append(record(n)));
    store.release();
    await Promise.all(all);
    assert.deepEqual(store.sizes, [1, 3, 3, 1]);
  });

  test('under load a burst goes as two halves in turn, the next sent before the callers are answered', async () => {
    await underLoad(8, async () => {
      const store = new SteppedStore();
      const writer = new GroupCommit(store, new MerkleTree(), 4096, hook());
      const sentWhenAnswered: number[] = [];
      const burst = Array.from({ length: 40 }, (_, n) =>
        writer.append(record(n)).then((index) => {
          sentWhenAnswered.push(store.sizes.length);
          return index;
        }),
      );
      // The first append started a batch of its own; the 39 behind it are cut to half of all 40.
      await store.step();
      assert.deepEqual(store.sizes, [1, 20]);
      assert.deepEqual(sentWhenAnswered, [2], 'the next batch went to the store before the caller ran on');
      await store.step();
      assert.deepEqual(store.sizes, [1, 20, 19]);
      assert.equal(sentWhenAnswered.length, 21);
      assert.ok(sentWhenAnswered.every((n, i) => n === (i === 0 ? 2 : 3)));
      // Records appended meanwhile form the next batch, sent when the one in flight is durable.
      const later = Array.from({ length: 5 }, (_, n) => writer.append(record(40 + n)));
      await store.step();
      assert.deepEqual(store.sizes, [1, 20, 19, 5]);
      await store.step();
      assert.deepEqual(
        await Promise.all([...burst, ...later]),
        Array.from({ length: 45 }, (_, n) => n),
      );
      assert.equal(await store.count(), 45);
    });
  });

  test('one request at a time, or a small burst, is not split', async () => {
    const store = new SteppedStore();
    const writer = new GroupCommit(store, new MerkleTree(), 4096, hook());
    const sentWhenAnswered: number[] = [];
    const burst = Array.from({ length: 40 }, (_, n) =>
      writer.append(record(n)).then(() => sentWhenAnswered.push(store.sizes.length)),
    );
    await store.step();
    // One request at a time, the callers are answered before the next batch goes (a store may commit it
    // in that turn, as the SQLite ledger does).
    assert.deepEqual(sentWhenAnswered, [1]);
    await store.step();
    assert.deepEqual(store.sizes, [1, 39]);
    await Promise.all(burst);
    await underLoad(8, async () => {
      const small = Array.from({ length: 17 }, (_, n) => writer.append(record(40 + n)));
      await store.step();
      await store.step();
      assert.deepEqual(store.sizes, [1, 39, 1, 16]);
      await Promise.all(small);
    });
  });

  test('a failed batch is refused alone; the records behind it are written after the resync', async () => {
    await underLoad(8, async () => {
      const store = new SteppedStore();
      const writer = new GroupCommit(store, new MerkleTree(), 4096, hook());
      const burst = Array.from({ length: 40 }, (_, n) =>
        writer.append(record(n)).then(
          (index) => index,
          (error: { code?: string }) => error.code,
        ),
      );
      await store.step();
      assert.deepEqual(store.sizes, [1, 20]);
      store.fail = true;
      await store.step();
      store.fail = false;
      assert.deepEqual(store.sizes, [1, 20, 19], 'the rest goes once the store has been read again');
      await store.step();
      const results = await Promise.all(burst);
      assert.equal(results[0], 0);
      assert.deepEqual(results.slice(1, 21), Array(20).fill('WARRANT_LEDGER_WRITE_FAILED'));
      assert.deepEqual(
        results.slice(21),
        Array.from({ length: 19 }, (_, n) => n + 1),
      );
      assert.equal(writer.needsResync, false);
    });
  });

  test('work the hook says is due runs before the next batch, on the writer loop', async () => {
    const store = new MemoryLedgerStore();
    const between = hook();
    const writer = new GroupCommit(store, new MerkleTree(), 4096, between);
    await writer.append(record(0));
    assert.equal(between.runs, 0);
    between.due = true;
    writer.kick();
    await writer.idle();
    assert.equal(between.runs, 1);
    assert.equal(between.due, false);
  });

  test('after a conflict (another writer appended first) it reads the foreign records and numbers on', async () => {
    const store = new MemoryLedgerStore();
    const writer = new GroupCommit(store, new MerkleTree(), 4096, hook());
    assert.equal(await writer.append(record(0)), 0);
    await store.appendBatch([toEntry(1, record(100), 1), toEntry(2, record(101), 2)]);
    assert.equal(await writer.append(record(1)), 3);
    assert.equal(await store.count(), 4);
    assert.equal(writer.needsResync, false);
  });

  test('a failed write rejects its batch with WARRANT_LEDGER_WRITE_FAILED and marks a resync', async () => {
    const store = new FlakyStore();
    const writer = new GroupCommit(store, new MerkleTree(), 4096, hook());
    await assert.rejects(writer.append(record(0)), { code: 'WARRANT_LEDGER_WRITE_FAILED' });
    assert.equal(writer.needsResync, true);
    store.fail = false;
    assert.equal(await writer.append(record(1)), 0);
    assert.equal(writer.needsResync, false);
  });

  test('a record not representable as canonical JSON is refused alone', async () => {
    const writer = new GroupCommit(new MemoryLedgerStore(), new MerkleTree(), 4096, hook());
    const results = await Promise.allSettled([
      writer.append(record(0)),
      writer.append({ ...record(1), risk: { score: 1n, factors: [] } } as never),
      writer.append(record(2)),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.name)),
      [0, 'TypeError', 1],
    );
  });

  test('a record is read when it is appended: its text is made then, and a later change is not logged', async () => {
    const store = new GatedStore();
    const writer = new GroupCommit(store, new MerkleTree(), 4096, hook());
    const first = writer.append(record(0));
    // The first batch is held at the store; this record waits for the next one.
    const mutable = { ...record(1), reasons: ['as appended'] };
    const second = writer.append(mutable);
    mutable.reasons.push('changed after append');
    (mutable as { decision: string }).decision = 'deny';
    // Refused in the caller's turn, before any batch is written.
    await assert.rejects(writer.append({ ...record(2), when: new Map() } as never), {
      name: 'TypeError',
      message: 'record is not representable as canonical JSON',
    });
    assert.deepEqual(store.sizes, [1]);
    store.release();
    assert.deepEqual(await Promise.all([first, second]), [0, 1]);
    const [stored] = await store.entries(1, 2);
    assert.equal(stored!.canonical, toEntry(1, { ...record(1), reasons: ['as appended'] }, 0).canonical);
    assert.equal(stored!.decision, 'allow');
  });

  test('a noted record rides with the next append; after close, appends are refused and notes dropped', async () => {
    const store = new MemoryLedgerStore();
    const writer = new GroupCommit(store, new MerkleTree(), 4096, hook());
    writer.note(record(0));
    assert.equal(await store.count(), 0);
    assert.equal(await writer.append(record(1)), 1);
    assert.equal(writer.batches, 1);
    writer.note(record(2));
    writer.close();
    await writer.idle();
    assert.equal(await store.count(), 3, 'the note queued before close is written');
    writer.note(record(3));
    await assert.rejects(writer.append(record(4)), { code: 'WARRANT_LEDGER_CLOSED' });
    await writer.idle();
    assert.equal(await store.count(), 3);
  });
});
