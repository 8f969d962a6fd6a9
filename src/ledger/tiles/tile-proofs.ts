/**
 * RFC 9162 inclusion and consistency proofs computed from stored tiles alone (no tree in memory): any
 * complete node (height h, index i) is the root of 2^(h mod 8) consecutive hashes of one tile at level
 * ⌊h / 8⌋. The loops are those of `MerkleTree` (merkle.ts), reading nodes through `TileNodes`.
 */
import { nodeHash } from '../merkle.ts';
import { perfectRoot, TILE_HEIGHT, TILE_WIDTH, tileHashes } from './tile-edge.ts';

/** Reads a stored tile: its hashes (the widest stored, a prefix is valid for smaller trees), or `null`. */
export type ReadTile = (level: number, index: number) => Promise<Uint8Array | null>;

/** Complete nodes of the tree, from tiles (each tile read once per instance). */
export class TileNodes {
  readonly #read: ReadTile;
  readonly #cache = new Map<string, Uint8Array[]>();

  constructor(read: ReadTile) {
    this.#read = read;
  }

  /** The hash of the complete node at `height`, `index`; rejects when its tile is not stored wide enough. */
  async node(height: number, index: number): Promise<Uint8Array> {
    const level = Math.floor(height / TILE_HEIGHT);
    const count = 2 ** (height % TILE_HEIGHT);
    const first = index * count;
    const tileIndex = Math.floor(first / TILE_WIDTH);
    const key = `${level}/${tileIndex}`;
    let hashes = this.#cache.get(key);
    if (!hashes) {
      const bytes = await this.#read(level, tileIndex);
      hashes = bytes ? tileHashes(bytes) : [];
      this.#cache.set(key, hashes);
    }
    const offset = first % TILE_WIDTH;
    if (hashes.length < offset + count)
      throw new RangeError(`tile ${key} is not stored (or not wide enough) for node ${height}/${index}`);
    return perfectRoot(hashes, offset, count);
  }

  /** MTH(D[start:start+count]) for the ranges RFC 9162 proofs use (start aligned to the largest power of two ≤ count). */
  async rangeHash(start: number, count: number): Promise<Uint8Array> {
    const pieces: Uint8Array[] = [];
    let pos = start;
    for (let level = Math.floor(Math.log2(count)); level >= 0; level--) {
      const width = 2 ** level;
      if (Math.floor(count / width) % 2 === 1) {
        pieces.push(await this.node(level, pos / width));
        pos += width;
      }
    }
    let acc = pieces.pop()!;
    while (pieces.length > 0) acc = nodeHash(pieces.pop()!, acc);
    return acc;
  }
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkSize(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer`);
}

/** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves, from tiles. */
export async function tileInclusionProof(
  nodes: TileNodes,
  index: number,
  size: number,
): Promise<Uint8Array[]> {
  checkSize(index, 'index');
  checkSize(size, 'size');
  if (index >= size) throw new RangeError(`index ${index} is not in a tree of ${size}`);
  const path: Uint8Array[] = [];
  let lo = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      path.push(await nodes.rangeHash(lo + k, n - k));
      n = k;
    } else {
      path.push(await nodes.rangeHash(lo, k));
      lo += k;
      m -= k;
      n -= k;
    }
  }
  return path.reverse();
}

/** RFC 9162 §2.1.4.1 consistency proof from the tree of `oldSize` to that of `newSize` leaves, from tiles. */
export async function tileConsistencyProof(
  nodes: TileNodes,
  oldSize: number,
  newSize: number,
): Promise<Uint8Array[]> {
  checkSize(oldSize, 'oldSize');
  checkSize(newSize, 'newSize');
  if (oldSize < 1 || oldSize > newSize) throw new RangeError('oldSize must be in [1, newSize]');
  const proof: Uint8Array[] = [];
  let lo = 0;
  let n = newSize;
  let m = oldSize;
  let complete = true;
  while (m !== n) {
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      proof.push(await nodes.rangeHash(lo + k, n - k));
      n = k;
    } else {
      proof.push(await nodes.rangeHash(lo, k));
      lo += k;
      m -= k;
      n -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(await nodes.rangeHash(lo, m));
  return proof.reverse();
}
