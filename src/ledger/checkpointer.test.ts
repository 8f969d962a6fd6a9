import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { noteVerifierKey, verifyCheckpoint } from './checkpoint.ts';
import { Checkpointer, type LedgerSigner } from './checkpointer.ts';
import { leafHash, MerkleTree } from './merkle.ts';
import { MemoryLedgerStore } from './store/memory-ledger-store.ts';
import type { LedgerStore, StoredCheckpoint } from './store/ports.ts';

const signer: LedgerSigner = { name: 'test.example/ledger', key: generateSigningKey('EdDSA') };
const origin = 'test.example/ledger';

function treeOf(n: number): MerkleTree {
  const tree = new MerkleTree();
  for (let i = 0; i < n; i++) tree.append(leafHash(Uint8Array.of(i)));
  return tree;
}

function make(
  tree: MerkleTree,
  every: { records: number; ms: number },
  store: LedgerStore = new MemoryLedgerStore(),
  latest: StoredCheckpoint | null = null,
) {
  const kicks: number[] = [];
  let clock = 1_000_000;
  const checkpointer = new Checkpointer(store, tree, signer, latest, {
    origin,
    every,
    now: () => clock,
    kick: () => kicks.push(clock),
  });
  return { checkpointer, store, kicks, advance: (ms: number) => (clock += ms) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Checkpointer', () => {
  test('due at once when every.records records are uncovered', () => {
    const tree = treeOf(10);
    const { checkpointer, kicks } = make(tree, { records: 10, ms: 60_000 });
    assert.equal(checkpointer.uncovered, 10);
    checkpointer.committed();
    assert.equal(checkpointer.due, true);
    assert.deepEqual(kicks, [], 'the writer loop runs it before its next batch: no kick needed');
  });

  test('below every.records, due (and the writer kicked) every.ms after the last checkpoint', async () => {
    const tree = treeOf(3);
    const { checkpointer, kicks } = make(tree, { records: 1000, ms: 15 });
    checkpointer.committed();
    assert.equal(checkpointer.due, false);
    await sleep(40);
    assert.equal(checkpointer.due, true);
    assert.equal(kicks.length, 1);
  });

  test('run signs the tree root as a C2SP checkpoint for the origin and stores it', async () => {
    const tree = treeOf(5);
    const { checkpointer, store } = make(tree, { records: 1000, ms: 60_000 });
    checkpointer.request();
    await checkpointer.run();
    assert.equal(checkpointer.due, false);
    const cp = checkpointer.latest!;
    assert.equal(cp.size, 5);
    assert.deepEqual(cp.root, tree.root());
    assert.equal(cp.time, 1_000_000);
    const signed = verifyCheckpoint(cp.note, [noteVerifierKey(signer.name, signer.key)]);
    assert.equal(signed.origin, origin);
    assert.equal(signed.size, 5);
    assert.deepEqual(await store.latestCheckpoint(), cp);
    assert.equal(checkpointer.uncovered, 0);
    await checkpointer.run();
    assert.equal((await store.checkpoints({ limit: 10 })).length, 1, 'nothing new: no second checkpoint');
  });

  test('a refused checkpoint is kept as the error and retried after every.ms; not once closing', async () => {
    const inner = new MemoryLedgerStore();
    let refuse = true;
    const store = new Proxy(inner, {
      get: (target, prop) =>
        prop === 'putCheckpoint'
          ? async (cp: StoredCheckpoint) => {
              if (refuse) throw new Error('store down');
              await target.putCheckpoint(cp);
            }
          : Reflect.get(target, prop, target).bind(target),
    });
    const tree = treeOf(2);
    const { checkpointer, kicks } = make(tree, { records: 1000, ms: 15 }, store);
    await checkpointer.run();
    assert.equal((checkpointer.error as Error).message, 'store down');
    assert.equal(checkpointer.latest, null);
    await sleep(40);
    assert.equal(kicks.length, 1, 'retried after the interval');
    refuse = false;
    await checkpointer.run();
    assert.equal(checkpointer.error, null);
    assert.equal((checkpointer.latest as StoredCheckpoint | null)?.size, 2);

    tree.append(leafHash(Uint8Array.of(9)));
    refuse = true;
    checkpointer.closing();
    await checkpointer.run();
    await sleep(40);
    assert.equal(kicks.length, 1, 'no retry once closing');
    checkpointer.stop();
  });

  test('an empty tree, or one the latest checkpoint covers, is not checkpointed', async () => {
    const { checkpointer, store } = make(new MerkleTree(), { records: 1, ms: 1 });
    checkpointer.committed();
    assert.equal(checkpointer.due, false);
    await checkpointer.run();
    assert.equal(await store.latestCheckpoint(), null);
  });
});
