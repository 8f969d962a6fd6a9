import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { LedgerEntry, LedgerStore, StoredCheckpoint } from './ports.ts';

export interface LedgerStoreHarness {
  /** A fresh, empty store. */
  open(): Promise<LedgerStore>;
  /** Closes the store (if still open) and removes whatever the harness created for it. */
  dispose(store: LedgerStore): Promise<void>;
  /** Closes the store and opens the same data again (persistent adapters only). */
  reopen?(store: LedgerStore): Promise<LedgerStore>;
}

/**
 * The ledger store contract (STYLE habit 7): one suite, run unchanged against every `LedgerStore` adapter.
 * Each test gets a fresh store.
 */
export function ledgerStoreContract(name: string, harness: LedgerStoreHarness): void {
  describe(`LedgerStore contract: ${name}`, () => {
    let store: LedgerStore;

    beforeEach(async () => {
      store = await harness.open();
    });
    afterEach(async () => {
      await harness.dispose(store);
    });

    const conflict = { code: 'WARRANT_LEDGER_CONFLICT', name: 'LedgerConflictError' };
    const closed = { code: 'WARRANT_LEDGER_CLOSED', name: 'LedgerClosedError' };

    test('an empty store has no records and no checkpoint', async () => {
      assert.equal(await store.count(), 0);
      assert.equal(await store.latestCheckpoint(), null);
      assert.equal(await store.checkpointAt(0), null);
      assert.deepEqual(await store.checkpoints({ limit: 10 }), []);
      assert.deepEqual(await store.leafHashes(0, 0), []);
      assert.deepEqual(await store.leafHashes(0, 10), []);
      assert.deepEqual(await store.entries(0, 10), []);
      assert.deepEqual(await store.leafData(0, 10), []);
      assert.equal(await store.getRecord(0), null);
      assert.deepEqual(await store.query({ limit: 10 }), { items: [], next: null });
    });

    test('a batch round-trips every field, nulls and non-ASCII text included', async () => {
      const batch = [
        entry(0, { txn: 'txn-1', person: 'alice', caller: 'agent-a', action: 'read', decision: 'allow' }),
        entry(1, { txn: null, person: null, caller: null, action: null, decision: null }),
        entry(2, { txn: 'txn-ü', canonical: '{"index":2,"note":"日本語 – \\"quoted\\""}' }),
      ];
      await store.appendBatch(batch);
      assert.equal(await store.count(), 3);
      assert.deepEqual(await store.entries(0, 3), batch);
      assert.deepEqual(await store.getRecord(1), batch[1]);
      assert.deepEqual(await store.getRecord(2), batch[2]);
      assert.equal(await store.getRecord(3), null);
      assert.deepEqual(
        await store.leafHashes(0, 3),
        batch.map((e) => e.leafHash),
      );
      for (const h of await store.leafHashes(0, 3))
        assert.equal(Object.getPrototypeOf(h), Uint8Array.prototype);
      const data = await store.leafData(0, 3);
      assert.deepEqual(
        data.map((d) => ({ ...d })),
        batch.map((e) => ({ index: e.index, leafHash: e.leafHash, canonical: e.canonical })),
      );
    });

    test('batches append in order and ranges read back what was asked', async () => {
      await store.appendBatch(entries(0, 5));
      await store.appendBatch(entries(5, 3));
      await store.appendBatch(entries(8, 1));
      assert.equal(await store.count(), 9);
      assert.deepEqual(
        await store.leafHashes(2, 6),
        entries(2, 4).map((e) => e.leafHash),
      );
      assert.deepEqual(await store.entries(7, 20), entries(7, 2));
      assert.deepEqual(await store.leafHashes(4, 4), []);
      await assert.rejects(store.leafHashes(5, 4), RangeError);
      await assert.rejects(store.entries(-1, 4), TypeError);
      await assert.rejects(store.getRecord(1.5), TypeError);
    });

    test('a batch that does not continue the log is a conflict and stores nothing', async () => {
      await store.appendBatch(entries(0, 3));
      await assert.rejects(store.appendBatch(entries(4, 2)), conflict);
      await assert.rejects(store.appendBatch(entries(2, 2)), conflict);
      await assert.rejects(store.appendBatch(entries(0, 1)), conflict);
      assert.equal(await store.count(), 3);
      assert.deepEqual(await store.entries(0, 10), entries(0, 3));
      await store.appendBatch(entries(3, 1));
      assert.equal(await store.count(), 4);
    });

    test('a malformed batch is a TypeError and stores nothing', async () => {
      await assert.rejects(store.appendBatch([]), TypeError);
      const bad = [entry(0), { ...entry(1), leafHash: new Uint8Array(31) }];
      await assert.rejects(store.appendBatch(bad), TypeError);
      const gap = [entry(0), entry(2)];
      await assert.rejects(store.appendBatch(gap), TypeError);
      await assert.rejects(store.appendBatch([{ ...entry(0), time: 1.5 }]), TypeError);
      await assert.rejects(store.appendBatch([{ ...entry(0), txn: 5 as never }]), TypeError);
      assert.equal(await store.count(), 0);
    });

    test('long non-ASCII text round-trips in a batch', async () => {
      const batch = Array.from({ length: 40 }, (_, i) =>
        entry(i, { canonical: `{"index":${i},"t":"${'日本語😀'.repeat(300 + i)}"}`, txn: 'ü'.repeat(i) }),
      );
      await store.appendBatch(batch);
      assert.deepEqual(await store.entries(0, 40), batch);
      const data = await store.leafData(10, 12);
      assert.deepEqual(
        data.map((d) => d.canonical),
        batch.slice(10, 12).map((e) => e.canonical),
      );
    });

    test('a large batch is written whole', async () => {
      const batch = entries(0, 2500);
      await store.appendBatch(batch);
      assert.equal(await store.count(), 2500);
      assert.deepEqual(
        await store.leafHashes(0, 2500),
        batch.map((e) => e.leafHash),
      );
    });

    test('checkpoints are stored by size; the latest is the largest', async () => {
      await store.appendBatch(entries(0, 10));
      const a = checkpoint(4, 1);
      const b = checkpoint(10, 2);
      const c = checkpoint(7, 3);
      await store.putCheckpoint(a);
      await store.putCheckpoint(b);
      await store.putCheckpoint(c);
      assert.deepEqual(await store.latestCheckpoint(), b);
      assert.deepEqual(await store.checkpointAt(7), c);
      assert.equal(await store.checkpointAt(5), null);
      assert.deepEqual(await store.checkpoints({ limit: 10 }), [a, c, b]);
      assert.deepEqual(await store.checkpoints({ after: 4, limit: 1 }), [c]);
      assert.deepEqual(await store.checkpoints({ after: 10, limit: 5 }), []);
      const root = (await store.checkpointAt(4))!.root;
      assert.equal(Object.getPrototypeOf(root), Uint8Array.prototype);
    });

    test('the same checkpoint again is a no-op; another root for a stored size is a conflict', async () => {
      const a = checkpoint(3, 1);
      await store.putCheckpoint(a);
      await store.putCheckpoint({ ...a, time: a.time + 5 });
      assert.deepEqual(await store.checkpointAt(3), a);
      await assert.rejects(store.putCheckpoint(checkpoint(3, 2)), conflict);
      assert.deepEqual(await store.checkpointAt(3), a);
      await assert.rejects(store.putCheckpoint({ ...a, root: new Uint8Array(8) }), TypeError);
      await assert.rejects(store.putCheckpoint({ ...a, note: '' }), TypeError);
      await assert.rejects(store.checkpoints({ limit: 0 }), TypeError);
    });

    test('queries match every given field, by index ascending', async () => {
      await store.appendBatch([
        entry(0, { txn: 't1', person: 'alice', caller: 'a', action: 'read', decision: 'allow', time: 1000 }),
        entry(1, { txn: 't1', person: 'alice', caller: 'b', action: 'write', decision: 'deny', time: 2000 }),
        entry(2, { txn: 't2', person: 'bob', caller: 'a', action: 'read', decision: 'allow', time: 3000 }),
        entry(3, { txn: 't1', person: 'alice', caller: 'a', action: 'read', decision: 'deny', time: 4000 }),
        entry(4, { txn: null, person: null, caller: null, action: null, decision: null, time: 5000 }),
      ]);
      const ids = async (q: Parameters<LedgerStore['query']>[0]) =>
        (await store.query(q)).items.map((e) => e.index);
      assert.deepEqual(await ids({ txn: 't1', limit: 10 }), [0, 1, 3]);
      assert.deepEqual(await ids({ person: 'bob', limit: 10 }), [2]);
      assert.deepEqual(await ids({ caller: 'a', limit: 10 }), [0, 2, 3]);
      assert.deepEqual(await ids({ action: 'read', decision: 'allow', limit: 10 }), [0, 2]);
      assert.deepEqual(await ids({ decision: 'deny', limit: 10 }), [1, 3]);
      assert.deepEqual(await ids({ since: 2000, until: 4000, limit: 10 }), [1, 2]);
      assert.deepEqual(await ids({ txn: 't1', caller: 'a', since: 1001, limit: 10 }), [3]);
      assert.deepEqual(await ids({ txn: 'none', limit: 10 }), []);
      assert.deepEqual(await ids({ limit: 10 }), [0, 1, 2, 3, 4]);
      const full = await store.query({ person: 'bob', limit: 1 });
      assert.deepEqual(full, { items: [await store.getRecord(2)], next: null });
      await assert.rejects(store.query({ limit: 1001 }), TypeError);
      await assert.rejects(store.query({ limit: 1, txn: 3 as never }), TypeError);
    });

    test('query pages with a keyset cursor', async () => {
      await store.appendBatch(entries(0, 7, { txn: 'same' }));
      const seen: number[] = [];
      let after: number | undefined;
      let pages = 0;
      do {
        const page = await store.query({ txn: 'same', limit: 3, ...(after === undefined ? {} : { after }) });
        seen.push(...page.items.map((e) => e.index));
        after = page.next ?? undefined;
        pages++;
      } while (after !== undefined);
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
      assert.equal(pages, 3);
      const exact = await store.query({ limit: 7 });
      assert.equal(exact.next, null);
    });

    test('close is idempotent and later calls reject as closed', async () => {
      await store.appendBatch(entries(0, 1));
      await store.close();
      await store.close();
      await assert.rejects(store.appendBatch(entries(1, 1)), closed);
      await assert.rejects(store.count(), closed);
      await assert.rejects(store.putCheckpoint(checkpoint(1, 1)), closed);
    });

    if (harness.reopen) {
      const reopen = harness.reopen;
      test('records and checkpoints survive a reopen', async () => {
        await store.appendBatch(entries(0, 4));
        await store.putCheckpoint(checkpoint(4, 9));
        store = await reopen(store);
        assert.equal(await store.count(), 4);
        assert.deepEqual(await store.entries(0, 4), entries(0, 4));
        assert.deepEqual(await store.latestCheckpoint(), checkpoint(4, 9));
        await store.appendBatch(entries(4, 2));
        assert.equal(await store.count(), 6);
      });
    }
  });
}

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text).digest());
}

function entry(index: number, fields: Partial<LedgerEntry> = {}): LedgerEntry {
  const canonical = fields.canonical ?? `{"index":${index},"id":"rec-${index}"}`;
  return {
    index,
    leafHash: sha256(`leaf:${canonical}`),
    canonical,
    time: 1_750_000_000_000 + index,
    txn: `txn-${index % 3}`,
    person: `person-${index % 2}`,
    caller: 'spiffe://example.org/agent/caller',
    action: 'tools/call:search',
    decision: 'allow',
    ...fields,
  };
}

function entries(from: number, n: number, fields: Partial<LedgerEntry> = {}): LedgerEntry[] {
  return Array.from({ length: n }, (_, i) => entry(from + i, fields));
}

function checkpoint(size: number, seed: number): StoredCheckpoint {
  return {
    size,
    root: sha256(`root:${size}:${seed}`),
    note: `example.org/log\n${size}\nroot-${seed}\n\n— example.org/log sig\n`,
    time: 1_750_000_000_000 + seed,
  };
}
