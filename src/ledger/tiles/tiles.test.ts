import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { leafHash, MerkleTree, verifyConsistency, verifyInclusion } from '../merkle.ts';
import { TILE_WIDTH, TileEdge } from './tile-edge.ts';
import { formatTileIndex, formatTilePath, parseTilePath } from './tile-path.ts';
import { TileNodes, tileConsistencyProof, tileInclusionProof } from './tile-proofs.ts';

const leaf = (i: number) => leafHash(new TextEncoder().encode(`record ${i}`));

/** Tiles as a store keeps them: the widest version of each. */
function tileStore(edge: TileEdge, tiles: Map<string, Uint8Array>): void {
  for (const t of edge.drain()) tiles.set(`${t.level}/${t.index}`, t.hashes);
}

describe('TileEdge', () => {
  test('its root is the RFC 9162 root at every size across tile boundaries', () => {
    const edge = new TileEdge();
    const tree = new MerkleTree();
    assert.deepEqual(edge.root(), tree.root());
    for (let i = 0; i < 70_000; i++) {
      edge.append(leaf(i));
      tree.append(leaf(i));
      if (i < 600 || i % 997 === 0 || i === 65_535 || i === 65_536)
        assert.deepEqual(edge.root(), tree.root(), `size ${i + 1}`);
    }
  });

  test('memory is O(log n): at most 255 hashes per tile level after 200 000 appends', () => {
    const edge = new TileEdge();
    let most = 0;
    for (let i = 0; i < 200_000; i++) {
      edge.append(leaf(i));
      edge.drain();
      most = Math.max(most, edge.heldHashes);
    }
    assert.equal(edge.tileLevels, 3); // 200 000 < 256^3
    assert.ok(most <= 3 * (TILE_WIDTH - 1), `held ${most}`);
    assert.equal(edge.size, 200_000);
  });

  test('rebuilt from its stored partial tiles, it continues the same tree; wrong widths are refused', () => {
    const edge = new TileEdge();
    const tiles = new Map<string, Uint8Array>();
    for (let i = 0; i < 70_001; i++) edge.append(leaf(i));
    tileStore(edge, tiles);
    const size = edge.size;
    const partials = [0, 1, 2].map((l) => {
      const w = TileEdge.partialWidth(size, l);
      const idx = Math.floor(Math.floor(size / TILE_WIDTH ** l) / TILE_WIDTH);
      const bytes = tiles.get(`${l}/${idx}`)!.subarray(0, w * 32);
      return Array.from({ length: w }, (_, k) => bytes.slice(k * 32, k * 32 + 32));
    });
    const again = TileEdge.fromPartials(size, partials);
    assert.deepEqual(again.root(), edge.root());
    again.append(leaf(size));
    edge.append(leaf(size));
    assert.deepEqual(again.root(), edge.root());
    assert.throws(() => TileEdge.fromPartials(size + 1, partials), RangeError);
  });
});

describe('proofs from tiles', () => {
  test('inclusion and consistency proofs from stored tiles verify, for old sizes too', async () => {
    const edge = new TileEdge();
    const tree = new MerkleTree();
    const tiles = new Map<string, Uint8Array>();
    const roots = new Map<number, Uint8Array>();
    for (let i = 0; i < 66_000; i++) {
      edge.append(leaf(i));
      tree.append(leaf(i));
      if (i % 5000 === 17 || i === 65_535) {
        tileStore(edge, tiles);
        roots.set(edge.size, edge.root());
      }
    }
    tileStore(edge, tiles);
    roots.set(edge.size, edge.root());
    const nodes = new TileNodes(async (l, n) => tiles.get(`${l}/${n}`) ?? null);
    for (const [size, root] of roots) {
      for (const index of [0, 1, 255, 256, size - 1, Math.floor(size / 3)]) {
        if (index >= size) continue;
        const proof = await tileInclusionProof(nodes, index, size);
        assert.deepEqual(proof, tree.inclusionProof(index, size));
        assert.ok(verifyInclusion(leaf(index), index, size, proof, root));
      }
      const proof = await tileConsistencyProof(nodes, 18, size);
      assert.ok(verifyConsistency(18, size, tree.root(18), root, proof));
    }
    await assert.rejects(tileInclusionProof(nodes, 0, edge.size + 300), RangeError);
  });
});

describe('tile paths', () => {
  test('indices are written in x-prefixed groups of three digits, and parse back', () => {
    assert.equal(formatTileIndex(1_234_067), 'x001/x234/067');
    assert.equal(formatTileIndex(5), '005');
    assert.equal(formatTilePath({ level: 1, index: 1234, width: 7 }), '1/x001/234.p/7');
    assert.equal(formatTilePath({ level: null, index: 0, width: 256 }), 'entries/000');
    assert.deepEqual(parseTilePath('0/x001/x234/067'), { level: 0, index: 1_234_067, width: 256 });
    assert.deepEqual(parseTilePath('entries/000.p/12'), { level: null, index: 0, width: 12 });
  });

  test('malformed paths are refused', () => {
    for (const bad of [
      '0/1',
      '0/0001',
      '0/x000/001',
      '00/000',
      '64/000',
      '0/000.p/0',
      '0/000.p/256',
      '0/000.p/012',
      '0/001/002',
      'x/000',
      '0/abc',
      '0/000.p/',
      '-1/000',
      'entries',
    ])
      assert.equal(parseTilePath(bad), null, bad);
  });
});
