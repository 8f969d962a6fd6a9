import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
