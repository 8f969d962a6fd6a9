import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { leafHash, MerkleTree, verifyConsistency, verifyInclusion } from './merkle.ts';
import { type Checkpoints, consistencyProof, inclusionProof } from './proofs.ts';
import type { StoredCheckpoint } from './store/ports.ts';

function treeOf(n: number): MerkleTree {
  const tree = new MerkleTree();
  for (let i = 0; i < n; i++) tree.append(leafHash(Uint8Array.of(i)));
  return tree;
}

const cp = (tree: MerkleTree, size: number): StoredCheckpoint => ({
  size,
  root: tree.root(size),
  note: `note ${size}`,
  time: 0,
});

/** Checkpoints of the given sizes; `checkpoint()` writes one of the whole tree and counts the calls. */
function checkpoints(tree: MerkleTree, sizes: number[]): Checkpoints & { written: number } {
  const stored = new Map(sizes.map((s) => [s, cp(tree, s)]));
  let latest = sizes.length > 0 ? stored.get(Math.max(...sizes))! : null;
  return {
    written: 0,
    latestCheckpoint: () => latest,
    checkpointAt: async (size) => stored.get(size) ?? null,
    async checkpoint() {
      this.written++;
      latest = cp(tree, tree.size);
      stored.set(tree.size, latest);
      return latest;
    },
  };
}

describe('inclusionProof', () => {
  test('against the latest checkpoint, written first when it does not cover the index', async () => {
    const tree = treeOf(10);
    const source = checkpoints(tree, [6]);
    const early = await inclusionProof(tree, source, 2);
    assert.equal(early.size, 6);
    assert.equal(early.checkpoint, 'note 6');
    assert.equal(source.written, 0);
    assert.ok(verifyInclusion(early.leafHash, 2, 6, early.proof, tree.root(6)));
    const late = await inclusionProof(tree, source, 8);
    assert.equal(source.written, 1);
    assert.equal(late.size, 10);
    assert.ok(verifyInclusion(late.leafHash, 8, 10, late.proof, tree.root(10)));
  });

  test('against a stored checkpoint of a given size; refuses what it cannot prove', async () => {
    const tree = treeOf(10);
    const source = checkpoints(tree, [4, 8]);
    const p = await inclusionProof(tree, source, 3, 4);
    assert.equal(p.checkpoint, 'note 4');
    assert.ok(verifyInclusion(p.leafHash, 3, 4, p.proof, tree.root(4)));
    await assert.rejects(inclusionProof(tree, source, 3, 5), /no checkpoint of size 5/);
    await assert.rejects(inclusionProof(tree, source, 5, 4), /not covered by the checkpoint/);
    await assert.rejects(inclusionProof(tree, source, 10), /not in the ledger/);
    await assert.rejects(inclusionProof(tree, source, -1), TypeError);
  });
});

describe('consistencyProof', () => {
  test('to the latest checkpoint by default, else the whole tree; sizes checked', () => {
    const tree = treeOf(12);
    const p = consistencyProof(tree, 9, 4);
    assert.equal(p.newSize, 9);
    assert.ok(verifyConsistency(4, 9, tree.root(4), tree.root(9), p.proof));
    assert.equal(consistencyProof(tree, undefined, 4).newSize, 12);
    assert.equal(consistencyProof(tree, 9, 4, 11).newSize, 11);
    assert.throws(() => consistencyProof(tree, 9, 0), RangeError);
    assert.throws(() => consistencyProof(tree, 9, 5, 13), RangeError);
    assert.throws(() => consistencyProof(tree, 9, 10, 9), RangeError);
    assert.throws(() => consistencyProof(tree, 9, 1.5), TypeError);
  });
});
