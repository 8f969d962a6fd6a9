import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { noteVerifierKey, signCheckpoint } from './checkpoint.ts';
import type { DecisionRecord } from './decision-log.ts';
import { MerkleTree } from './merkle.ts';
import { catchUp, openVerified } from './open-verify.ts';
import { toEntry } from './records.ts';
import { MemoryLedgerStore } from './store/memory-ledger-store.ts';
import type { LedgerEntry, LedgerStore } from './store/ports.ts';

const origin = 'test.example/ledger';
const signer = { name: origin, key: generateSigningKey('EdDSA') };
const keys = [noteVerifierKey(origin, signer.key)];

const record = (n: number): DecisionRecord => ({
  id: `d${n}`,
  kind: 'decision',
  time: new Date(1_750_000_000_000 + n).toISOString(),
  gateway: 'gw',
});
const entries = (from: number, to: number): LedgerEntry[] =>
  Array.from({ length: to - from }, (_, i) => toEntry(from + i, record(from + i), from + i));

/** A memory store holding records 0..n-1 with a signed checkpoint of each size in `sizes`. */
async function storeWith(n: number, sizes: number[], sign = signer): Promise<MemoryLedgerStore> {
  const store = new MemoryLedgerStore();
  if (n > 0) await store.appendBatch(entries(0, n));
  const tree = MerkleTree.from(await store.leafHashes(0, n));
  for (const size of sizes) {
    const root = tree.root(size);
    await store.putCheckpoint({ size, root, note: signCheckpoint({ origin, size, root }, sign), time: 0 });
  }
  return store;
}

/** A store whose records (from `entries`) were edited as given. */
function edited(store: LedgerStore, edit: (e: LedgerEntry) => LedgerEntry): LedgerStore {
  return new Proxy(store, {
    get: (target, prop) => {
      const value = Reflect.get(target, prop, target);
      if (prop === 'leafData' || prop === 'entries')
        return async (from: number, to: number) => (await value.call(target, from, to)).map(edit);
      if (prop === 'leafHashes')
        return async (from: number, to: number) =>
          (await target.entries(from, to)).map((e) => edit(e).leafHash);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('openVerified', () => {
  test('an empty store opens as an empty tree without a checkpoint', async () => {
    const { tree, latest } = await openVerified(new MemoryLedgerStore(), 'full', origin, keys);
    assert.equal(tree.size, 0);
    assert.equal(latest, null);
  });

  test('rebuilds the tree and resolves the latest checkpoint it matches', async () => {
    const store = await storeWith(7, [3, 5]);
    const { tree, latest } = await openVerified(store, 'full', origin, keys);
    assert.equal(tree.size, 7);
    assert.equal(latest?.size, 5);
    assert.deepEqual(tree.root(5), latest?.root);
  });

  test('full names a record whose text no longer hashes to its leaf; tree does not look', async () => {
    const store = edited(await storeWith(6, [6]), (e) =>
      e.index === 4 ? { ...e, canonical: e.canonical.replace('"gw"', '"gx"') } : e,
    );
    await assert.rejects(openVerified(store, 'full', origin, keys), {
      code: 'WARRANT_LEDGER_CORRUPT',
      index: 4,
    });
    assert.equal((await openVerified(store, 'tree', origin, keys)).tree.size, 6);
  });

  test('a checkpoint signed by an unknown key, or for another origin, is refused', async () => {
    const other = { name: origin, key: generateSigningKey('EdDSA') };
    await assert.rejects(openVerified(await storeWith(4, [4], other), 'tree', origin, keys), {
      code: 'WARRANT_LEDGER_CORRUPT',
      message: /size 4 does not verify under the ledger keys/,
    });
    await assert.rejects(openVerified(await storeWith(4, [4]), 'tree', 'elsewhere/ledger', keys), {
      code: 'WARRANT_LEDGER_CORRUPT',
      message: /another log origin/,
    });
  });

  test('leaves that do not hash to a signed root: the start of the first failing range is named', async () => {
    const store = await storeWith(9, [3, 6, 9]);
    const forged = edited(store, (e) => (e.index === 7 ? { ...e, leafHash: new Uint8Array(32) } : e));
    await assert.rejects(openVerified(forged, 'tree', origin, keys), {
      code: 'WARRANT_LEDGER_CORRUPT',
      index: 6,
    });
  });
});

describe('catchUp', () => {
  test('reads the records another writer stored beyond the tree', async () => {
    const store = await storeWith(5, []);
    const tree = MerkleTree.from(await store.leafHashes(0, 3));
    await catchUp(store, tree);
    assert.equal(tree.size, 5);
    assert.deepEqual(tree.root(), MerkleTree.from(await store.leafHashes(0, 5)).root());
  });

  test('refuses a store that lost acknowledged records, or holds one that does not hash', async () => {
    const store = await storeWith(2, []);
    const ahead = MerkleTree.from([...(await store.leafHashes(0, 2)), new Uint8Array(32)]);
    await assert.rejects(catchUp(store, ahead), { code: 'WARRANT_LEDGER_CORRUPT', index: 2 });
    const bad = edited(await storeWith(4, []), (e) =>
      e.index === 3 ? { ...e, canonical: e.canonical.replace('"gw"', '"gx"') } : e,
    );
    const tree = MerkleTree.from(await bad.leafHashes(0, 1));
    await assert.rejects(catchUp(bad, tree), { code: 'WARRANT_LEDGER_CORRUPT', index: 3 });
  });
});
