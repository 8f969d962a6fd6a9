/**
 * The right edge of the ledger's Merkle tree, in C2SP tlog-tiles terms (https://c2sp.org/tlog-tiles): the
 * state the integrator keeps in memory instead of the whole tree.
 *
 * A tile at level L holds up to 256 consecutive hashes of tree nodes at height 8·L (level 0: leaf hashes).
 * Full tiles never change; only the right-most tile of each level is partial. So the whole tree is
 * described by the full tiles (stored, written once) and one partial tile per level — at most 256 hashes
 * per level and ⌈log₂₅₆ n⌉ + 1 levels: O(log n) memory, whatever the size of the log. The root, and the
 * partial tiles to store after a batch, come from this edge alone.
 */
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from '../merkle.ts';

/** Hashes in a full tile. */
export const TILE_WIDTH = 256;
/** Tree levels (node heights) one tile level spans. */
export const TILE_HEIGHT = 8;

/** A tile to store: level, index at that level, and its hashes (width = hashes / 32). */
export interface Tile {
  readonly level: number;
  readonly index: number;
  /** `width` hashes of 32 bytes, concatenated. */
  readonly hashes: Uint8Array;
  readonly width: number;
}

/** The root of the perfect subtree over `count` (a power of two) consecutive 32-byte hashes of `hashes` from `from`. */
export function perfectRoot(hashes: readonly Uint8Array[], from: number, count: number): Uint8Array {
  let row = hashes.slice(from, from + count);
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!;
}

/** The 32-byte hashes of a tile's bytes. */
export function tileHashes(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + HASH_SIZE <= bytes.length; o += HASH_SIZE) out.push(bytes.slice(o, o + HASH_SIZE));
  return out;
}

function concat(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  for (let i = 0; i < hashes.length; i++) out.set(hashes[i]!, i * HASH_SIZE);
  return out;
}

export class TileEdge {
  /** levels[L]: the hashes of the partial (right-most, not full) tile at level L; fewer than 256. */
  #levels: Uint8Array[][] = [];
  #size = 0;
  /** Tiles completed or changed since the last `drain()`, keyed by `level/index`. */
  #dirty = new Map<string, Tile>();

  /** The edge of a tree of `size` leaves from its partial tiles (level 0 first), as stored. */
  static fromPartials(size: number, partials: readonly Uint8Array[][]): TileEdge {
    const edge = new TileEdge();
    edge.#size = size;
    edge.#levels = partials.map((p) => p.slice());
    let nodes = size;
    for (let level = 0; nodes > 0; level++) {
      const width = nodes % TILE_WIDTH;
      if ((edge.#levels[level]?.length ?? 0) !== width)
        throw new RangeError(`the partial tile at level ${level} has the wrong width for size ${size}`);
      nodes = Math.floor(nodes / TILE_WIDTH);
    }
    while (edge.#levels.length > 0 && edge.#levels.at(-1)!.length === 0) edge.#levels.pop();
    return edge;
  }

  /** The number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Hashes held in memory (for the O(log n) bound: at most 255 per tile level). */
  get heldHashes(): number {
    return this.#levels.reduce((n, l) => n + l.length, 0);
  }

  /** Tile levels held. */
  get tileLevels(): number {
    return this.#levels.length;
  }

  /** The width a partial tile at `level` must have for a tree of `size` leaves (0: none). */
  static partialWidth(size: number, level: number): number {
    return Math.floor(size / TILE_WIDTH ** level) % TILE_WIDTH;
  }

  /** A copy (the integrator works on a copy and keeps it only once its transaction committed). */
  clone(): TileEdge {
    const copy = new TileEdge();
    copy.#size = this.#size;
    copy.#levels = this.#levels.map((l) => l.slice());
    return copy;
  }

  /** Appends a leaf hash. */
  append(leafHash: Uint8Array): void {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE)
      throw new TypeError('a leaf hash must be 32 bytes');
    let hash = leafHash;
    let nodesBelow = this.#size; // nodes at this level's height before the append
    for (let level = 0; ; level++) {
      if (this.#levels[level] === undefined) this.#levels[level] = [];
      const row = this.#levels[level];
      row.push(hash);
      const index = Math.floor(nodesBelow / TILE_WIDTH);
      if (row.length < TILE_WIDTH) {
        this.#mark(level, index, row);
        break;
      }
      // The tile is full: store it for good, and its root becomes one node of the level above.
      this.#mark(level, index, row);
      hash = perfectRoot(row, 0, TILE_WIDTH);
      this.#levels[level] = [];
      nodesBelow = Math.floor(nodesBelow / TILE_WIDTH);
    }
    this.#size++;
  }

  #mark(level: number, index: number, row: readonly Uint8Array[]): void {
    this.#dirty.set(`${level}/${index}`, { level, index, hashes: concat(row), width: row.length });
  }

  /** The tiles completed or changed since the last call (full ones once, partial ones at their latest width). */
  drain(): Tile[] {
    const tiles = [...this.#dirty.values()];
    this.#dirty.clear();
    return tiles;
  }

  /** The RFC 9162 root of the tree. */
  root(): Uint8Array {
    if (this.#size === 0) return EMPTY_ROOT.slice();
    // The tree splits into perfect subtrees by the binary digits of its size, left (top tile level) first.
    const pieces: Uint8Array[] = [];
    for (let level = this.#levels.length - 1; level >= 0; level--) {
      const row = this.#levels[level]!;
      let pos = 0;
      for (let bit = TILE_HEIGHT - 1; bit >= 0; bit--) {
        const count = 2 ** bit;
        if (row.length & count) {
          pieces.push(perfectRoot(row, pos, count));
          pos += count;
        }
      }
    }
    let acc = pieces.pop()!;
    while (pieces.length > 0) acc = nodeHash(pieces.pop()!, acc);
    return acc;
  }
}
