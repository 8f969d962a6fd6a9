import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  leafHash,
  MerkleTree,
  nodeHash,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';

const VECTORS = new URL('../../../shared/vectors/transparency-dev-merkle/', import.meta.url);

function vectorDir(): string {
  const dir = fileURLToPath(VECTORS);
  if (!existsSync(dir)) {
    throw new Error(`the transparency-dev Merkle vectors are missing: expected them at ${dir}`);
  }
  return dir;
}

/** Every *.json file under `sub` (recursively), as [relative path, parsed]. */
function cases(sub: string): [string, Record<string, unknown>][] {
  const root = `${vectorDir()}testdata/${sub}`;
  const out: [string, Record<string, unknown>][] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = `${dir}/${name}`;
      if (statSync(path).isDirectory()) walk(path, `${rel}${name}/`);
      else if (name.endsWith('.json')) out.push([`${rel}${name}`, JSON.parse(readFileSync(path, 'utf8'))]);
    }
  };
  walk(root, `${sub}/`);
  assert.ok(out.length > 0, `no vectors found under ${root}`);
  return out;
}

const b64 = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(String(s ?? ''), 'base64'));
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const proofOf = (p: unknown): Uint8Array[] => ((p as string[] | null) ?? []).map(b64);

/** The straightforward recursive MTH of RFC 9162 §2.1.1, as a reference. */
function naiveRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const n = leaves.length;
  if (n === 0) return new Uint8Array(createHash('sha256').digest());
  if (n === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

function treeOf(n: number): { tree: MerkleTree; leaves: Uint8Array[] } {
  const tree = new MerkleTree();
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const h = leafHash(new Uint8Array(Buffer.from(`leaf ${i}`)));
    leaves.push(h);
    tree.append(h);
  }
  return { tree, leaves };
}

function flipBit(proof: Uint8Array[], i: number, bit: number): Uint8Array[] {
  const copy = proof.map((p) => p.slice());
  copy[i]![bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('hashing (RFC 9162 §2.1.1)', () => {
  test('empty root, leaf and node hashes use the 0x00 / 0x01 prefixes', () => {
    assert.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const expectedLeaf = createHash('sha256')
      .update(Buffer.from([0]))
      .update('abc')
      .digest();
    assert.deepEqual(leafHash(new Uint8Array(Buffer.from('abc'))), new Uint8Array(expectedLeaf));
    const l = randomBytes(32);
    const r = randomBytes(32);
    const expectedNode = createHash('sha256')
      .update(Buffer.from([1]))
      .update(l)
      .update(r)
      .digest();
    assert.deepEqual(nodeHash(l, r), new Uint8Array(expectedNode));
    assert.throws(() => nodeHash(l, r.subarray(1)), TypeError);
  });

  test('the RFC 6962 reference tree: every root from size 0 to 8', () => {
    const ref = JSON.parse(readFileSync(`${vectorDir()}rfc6962_reference_tree.json`, 'utf8')) as {
      leafInputsHex: string[];
      rootHashesHexBySize: string[];
    };
    assert.equal(ref.rootHashesHexBySize.length, ref.leafInputsHex.length + 1);
    const tree = new MerkleTree();
    assert.equal(toHex(tree.root()), ref.rootHashesHexBySize[0]);
    for (const [i, input] of ref.leafInputsHex.entries()) {
      assert.equal(tree.append(leafHash(hex(input))), i);
      assert.equal(toHex(tree.root()), ref.rootHashesHexBySize[i + 1], `root of size ${i + 1}`);
    }
    for (let size = 0; size <= tree.size; size++) {
      assert.equal(toHex(tree.root(size)), ref.rootHashesHexBySize[size], `historical root of size ${size}`);
    }
  });
});

describe('transparency-dev/merkle vectors', () => {
  test('inclusion: happy paths verify, every tampered variant fails', () => {
    let valid = 0;
    let invalid = 0;
    for (const [name, c] of cases('inclusion')) {
      const leaf = b64(c['leafHash']);
      const index = c['leafIdx'] as number;
      const size = c['treeSize'] as number;
      const proof = proofOf(c['proof']);
      const root = b64(c['root']);
      const ok = verifyInclusion(leaf, index, size, proof, root);
      assert.equal(ok, !c['wantErr'], `${name}: ${String(c['desc'])}`);
      if (ok) {
        assert.deepEqual(rootFromInclusionProof(leaf, index, size, proof), root, name);
        valid++;
      } else invalid++;
    }
    assert.ok(valid >= 6 && invalid >= 80, `${valid} valid, ${invalid} invalid inclusion cases`);
  });

  test('consistency: happy paths verify, every tampered variant fails', () => {
    let valid = 0;
    let invalid = 0;
    for (const [name, c] of cases('consistency')) {
      const want = !c['wantErr'];
      const root1 = b64(c['root1']);
      const root2 = b64(c['root2']);
      const got = verifyConsistency(
        c['size1'] as number,
        c['size2'] as number,
        root1,
        root2,
        proofOf(c['proof']),
      );
      if (want && (root1.length !== 32 || root2.length !== 32)) {
        // Stricter than upstream, on purpose: roots are SHA-256 hashes, so a root that is not 32 bytes never
        // verifies. The one such case upstream accepts (equal sizes, equal 16-byte placeholder "roots")
        // must be refused, and the same case with real 32-byte roots must verify.
        assert.equal(got, false, `${name}: a root that is not 32 bytes must not verify`);
        const real = leafHash(root1);
        assert.equal(
          verifyConsistency(c['size1'] as number, c['size2'] as number, real, real, []),
          true,
          name,
        );
        invalid++;
        continue;
      }
      assert.equal(got, want, `${name}: ${String(c['desc'])}`);
      if (got) valid++;
      else invalid++;
    }
    assert.ok(valid >= 5 && invalid >= 90, `${valid} valid, ${invalid} invalid consistency cases`);
  });

  test('our proofs for the reference tree equal the upstream happy-path proofs', () => {
    const ref = JSON.parse(readFileSync(`${vectorDir()}rfc6962_reference_tree.json`, 'utf8')) as {
      leafInputsHex: string[];
    };
    const tree = MerkleTree.from(ref.leafInputsHex.map((h) => leafHash(hex(h))));
    for (const [name, c] of cases('inclusion')) {
      if (c['wantErr'] || (c['treeSize'] as number) > tree.size) continue;
      if (!name.endsWith('happy-path.json')) continue;
      const ours = tree.inclusionProof(c['leafIdx'] as number, c['treeSize'] as number);
      assert.deepEqual(ours.map(toHex), proofOf(c['proof']).map(toHex), name);
      assert.deepEqual(tree.root(c['treeSize'] as number), b64(c['root']), name);
    }
    for (const [name, c] of cases('consistency')) {
      if (c['wantErr'] || !name.endsWith('happy-path.json')) continue;
      const ours = tree.consistencyProof(c['size1'] as number, c['size2'] as number);
      assert.deepEqual(ours.map(toHex), proofOf(c['proof']).map(toHex), name);
    }
  });
});

describe('MerkleTree', () => {
  test('argument checks: bad hashes are TypeErrors, out-of-range sizes and indices RangeErrors', () => {
    const { tree } = treeOf(5);
    assert.throws(() => tree.append(new Uint8Array(31)), TypeError);
    assert.throws(() => tree.append('x' as unknown as Uint8Array), TypeError);
    assert.throws(() => tree.root(6), RangeError);
    assert.throws(() => tree.root(-1), RangeError);
    assert.throws(() => tree.root(1.5), RangeError);
    assert.throws(() => tree.inclusionProof(5), RangeError);
    assert.throws(() => tree.inclusionProof(2, 2), RangeError);
    assert.throws(() => tree.inclusionProof(0, 6), RangeError);
    assert.throws(() => tree.consistencyProof(0, 5), RangeError);
    assert.throws(() => tree.consistencyProof(4, 3), RangeError);
    assert.throws(() => tree.consistencyProof(1, 6), RangeError);
    assert.throws(() => tree.leafHash(5), RangeError);
    assert.deepEqual(tree.consistencyProof(3, 3), []);
    assert.deepEqual(tree.inclusionProof(0, 1), []);
  });

  test('returned hashes are copies: mutating them does not change the tree', () => {
    const { tree } = treeOf(4);
    const root = tree.root();
    tree.leafHash(0).fill(0);
    tree.root(2).fill(0);
    tree.root(1).fill(0);
    for (const p of tree.inclusionProof(1)) p.fill(0);
    for (const p of tree.consistencyProof(2)) p.fill(0);
    assert.deepEqual(tree.root(), root);
  });

  test('grows past its initial level capacity and keeps every historical root', () => {
    const { tree, leaves } = treeOf(1000);
    for (const size of [0, 1, 63, 64, 65, 127, 128, 129, 511, 512, 513, 999, 1000]) {
      assert.deepEqual(tree.root(size), naiveRoot(leaves.slice(0, size)), `size ${size}`);
    }
  });

  test('property: root(size) equals the naive recursive MTH for every size ≤ 300', () => {
    const { tree, leaves } = treeOf(300);
    for (let size = 0; size <= 300; size++) {
      assert.deepEqual(tree.root(size), naiveRoot(leaves.slice(0, size)), `size ${size}`);
    }
  });

  test('property: every inclusion proof verifies against its root; mutated proofs fail', () => {
    const { tree } = treeOf(300);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (size, seed, bit) => {
        const root = tree.root(size);
        for (let index = 0; index < size; index++) {
          const proof = tree.inclusionProof(index, size);
          const leaf = tree.leafHash(index);
          assert.ok(verifyInclusion(leaf, index, size, proof, root), `leaf ${index} of ${size}`);
        }
        const index = seed % size;
        const proof = tree.inclusionProof(index, size);
        const leaf = tree.leafHash(index);
        // Wrong index, wrong size, wrong leaf, wrong root: all fail.
        if (size > 1) {
          assert.ok(!verifyInclusion(leaf, (index + 1) % size, size, proof, root));
          assert.ok(!verifyInclusion(tree.leafHash((index + 1) % size), index, size, proof, root));
        }
        // (A different size with the same path shape can pass the walk: the root is what binds the size.)
        assert.ok(!verifyInclusion(leaf, index, size, proof, flipBit([root], 0, bit % 256)[0]!));
        if (proof.length > 0) {
          const at = seed % proof.length;
          assert.ok(!verifyInclusion(leaf, index, size, flipBit(proof, at, bit % 256), root), 'bit flip');
          assert.ok(!verifyInclusion(leaf, index, size, proof.slice(0, -1), root), 'truncated');
          assert.ok(!verifyInclusion(leaf, index, size, [...proof, root], root), 'extended');
          assert.ok(!verifyInclusion(leaf, index, size, proof.toReversed(), root) || proof.length === 1);
        }
      }),
      { numRuns: 60 },
    );
  });

  test('property: every consistency proof between m ≤ n verifies; mutated proofs fail', () => {
    const { tree } = treeOf(300);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.nat(),
        (a, b, seed, bit) => {
          const m = Math.min(a, b);
          const n = Math.max(a, b);
          const oldRoot = tree.root(m);
          const newRoot = tree.root(n);
          const proof = tree.consistencyProof(m, n);
          assert.ok(verifyConsistency(m, n, oldRoot, newRoot, proof), `${m} → ${n}`);
          if (m === n) {
            assert.equal(proof.length, 0);
            return;
          }
          assert.ok(!verifyConsistency(n, m, newRoot, oldRoot, proof), 'swapped');
          assert.ok(!verifyConsistency(m, n, newRoot, oldRoot, proof), 'swapped roots');
          assert.ok(!verifyConsistency(m, n, oldRoot, flipBit([newRoot], 0, bit % 256)[0]!, proof));
          assert.ok(!verifyConsistency(m, n, flipBit([oldRoot], 0, bit % 256)[0]!, newRoot, proof));
          const at = seed % proof.length;
          assert.ok(!verifyConsistency(m, n, oldRoot, newRoot, flipBit(proof, at, bit % 256)), 'bit flip');
          assert.ok(!verifyConsistency(m, n, oldRoot, newRoot, proof.slice(0, -1)), 'truncated');
          assert.ok(!verifyConsistency(m, n, oldRoot, newRoot, [...proof, newRoot]), 'extended');
        },
      ),
      { numRuns: 400 },
    );
    // Exhaustive for small trees: every pair m ≤ n ≤ 64.
    for (let n = 1; n <= 64; n++) {
      for (let m = 1; m <= n; m++) {
        assert.ok(verifyConsistency(m, n, tree.root(m), tree.root(n), tree.consistencyProof(m, n)));
      }
    }
  });

  test('proof lengths grow like log2(n)', () => {
    const { tree } = treeOf(1025);
    for (const size of [2, 3, 4, 5, 8, 9, 1024, 1025]) {
      const bound = Math.ceil(Math.log2(size));
      for (const index of [0, Math.floor(size / 2), size - 1]) {
        assert.ok(tree.inclusionProof(index, size).length <= bound, `inclusion ${index} of ${size}`);
      }
      for (const m of [1, Math.floor(size / 2), size - 1]) {
        if (m >= 1 && m < size) {
          assert.ok(tree.consistencyProof(m, size).length <= bound + 1, `consistency ${m} → ${size}`);
        }
      }
    }
    assert.equal(tree.inclusionProof(0, 1024).length, 10);
  });
});

describe('verifiers never throw on garbage', () => {
  const { tree } = treeOf(7);
  const root = tree.root();
  const leaf = tree.leafHash(3);
  const proof = tree.inclusionProof(3);
  const good = (): void => assert.ok(verifyInclusion(leaf, 3, 7, proof, root));

  test('inclusion', () => {
    good();
    const garbage: unknown[] = [
      undefined,
      null,
      'x',
      4,
      {},
      [],
      new Uint8Array(0),
      new Uint8Array(33),
      -1,
      NaN,
    ];
    for (const g of garbage) {
      assert.equal(verifyInclusion(g as Uint8Array, 3, 7, proof, root), false);
      assert.equal(verifyInclusion(leaf, g as number, 7, proof, root), false);
      assert.equal(verifyInclusion(leaf, 3, g as number, proof, root), false);
      assert.equal(verifyInclusion(leaf, 3, 7, g as Uint8Array[], root), false);
      assert.equal(verifyInclusion(leaf, 3, 7, [g as Uint8Array, ...proof.slice(1)], root), false);
      assert.equal(verifyInclusion(leaf, 3, 7, proof, g as Uint8Array), false);
      assert.equal(rootFromInclusionProof(leaf, 3, 7, [g as Uint8Array]), null);
    }
    assert.equal(verifyInclusion(leaf, 7, 7, proof, root), false);
    assert.equal(verifyInclusion(leaf, 3, 2 ** 60, proof, root), false);
    assert.equal(verifyInclusion(leaf, 3, 7, Array(100).fill(leaf), root), false);
    assert.equal(verifyInclusion(leaf, 0, 0, [], EMPTY_ROOT), false);
  });

  test('consistency', () => {
    const old = tree.root(3);
    const p = tree.consistencyProof(3);
    assert.ok(verifyConsistency(3, 7, old, root, p));
    const garbage: unknown[] = [undefined, null, 'x', {}, [], new Uint8Array(31), -1, 2.5, NaN, Infinity];
    for (const g of garbage) {
      assert.equal(verifyConsistency(g as number, 7, old, root, p), false);
      assert.equal(verifyConsistency(3, g as number, old, root, p), false);
      assert.equal(verifyConsistency(3, 7, g as Uint8Array, root, p), false);
      assert.equal(verifyConsistency(3, 7, old, g as Uint8Array, p), false);
      assert.equal(verifyConsistency(3, 7, old, root, g as Uint8Array[]), false);
      assert.equal(verifyConsistency(3, 7, old, root, [g as Uint8Array, ...p.slice(1)]), false);
    }
    assert.equal(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []), false);
    assert.equal(verifyConsistency(3, 2 ** 62, old, root, p), false);
  });
});
