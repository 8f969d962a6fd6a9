/**
 * RFC 9162 (Certificate Transparency 2.0, §2.1) Merkle tree hashing, proofs and proof verification.
 *
 *   leaf hash  = SHA-256(0x00 || data)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 *
 * `MerkleTree` is an in-memory, append-only tree. It keeps the hash of every complete (perfect) subtree:
 * level L, index i covers leaves [i·2^L, (i+1)·2^L). These are filled in as leaves are appended (one node
 * hash per append, amortised), so a root, an inclusion proof or a consistency proof reads O(log n) stored
 * nodes and recomputes at most O(log n) nodes on the incomplete right edge; nothing is ever O(n). Each
 * level is one growable byte array of 32-byte nodes: 2n hashes in all, about 64 MB for 10^6 leaves.
 *
 * The verifiers are pure functions of their arguments (RFC 9162 §2.1.3.2 and §2.1.4.2). They never throw:
 * any malformed argument (a hash that is not 32 bytes, an index past the tree, a proof too long, …)
 * verifies as `false`.
 */
import { hash } from 'node:crypto';

/** Bytes in a SHA-256 hash: every leaf hash, node hash and root. */
export const HASH_SIZE = 32;

/** The longest proof a tree of up to 2^64 leaves can need. Longer proofs are refused outright. */
const MAX_PROOF_LENGTH = 64;

const scratch = new Uint8Array(1 + 2 * HASH_SIZE);

/** SHA-256 as a plain Uint8Array (not a Buffer, so results compare equal to other byte arrays). */
function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha256', data, 'buffer'));
}

/** Node hash of two 32-byte children, no checks; the result is a Buffer, for internal use. */
function rawNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  scratch[0] = 1;
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', scratch, 'buffer');
}

/** The root of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** RFC 9162 leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError('leaf data must be a Uint8Array');
  const input = new Uint8Array(1 + data.length);
  input.set(data, 1);
  return sha256(input);
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!isHash(left) || !isHash(right)) {
    throw new TypeError(`node hash children must be ${HASH_SIZE}-byte hashes`);
  }
  return new Uint8Array(rawNodeHash(left, right));
}

/** True when `a` and `b` hold the same bytes (not constant time: hashes here are public). */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** floor(log2(n)) for n ≥ 1, exact up to 2^53 (no 32-bit bit operations past 2^32). */
function log2Floor(n: number): number {
  if (n < 0x1_0000_0000) return 31 - Math.clz32(n);
  let l = 32;
  while (2 ** (l + 1) <= n) l++;
  return l;
}

/** The largest power of two strictly less than `n` (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  return 2 ** log2Floor(n - 1);
}

const half = (x: number): number => Math.floor(x / 2);
const isOdd = (x: number): boolean => x % 2 === 1;

/** An append-only in-memory RFC 9162 Merkle tree over leaf hashes. */
export class MerkleTree {
  /** levels[L] holds floor(size / 2^L) complete-subtree hashes, 32 bytes each, in index order. */
  #levels: Uint8Array[] = [];
  #size = 0;

  /** A tree over these leaf hashes, in order. */
  static from(leafHashes: Iterable<Uint8Array>): MerkleTree {
    const tree = new MerkleTree();
    for (const h of leafHashes) tree.append(h);
    return tree;
  }

  /** The number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Appends a leaf hash (32 bytes; see `leafHash`) and returns its index. */
  append(hashOfLeaf: Uint8Array): number {
    if (!isHash(hashOfLeaf)) throw new TypeError(`a leaf hash must be a ${HASH_SIZE}-byte Uint8Array`);
    const index = this.#size;
    this.#put(0, index, hashOfLeaf);
    // Every new node with an odd index completes a pair: hash it into its parent, and so on up.
    let level = 0;
    let i = index;
    while (isOdd(i)) {
      const parent = rawNodeHash(this.#node(level, i - 1), this.#node(level, i));
      level++;
      i = half(i);
      this.#put(level, i, parent);
    }
    this.#size = index + 1;
    return index;
  }

  /** The leaf hash at `index` (a copy). */
  leafHash(index: number): Uint8Array {
    this.#checkIndex(index, this.#size, 'index');
    return this.#node(0, index).slice();
  }

  /** The root hash of the first `size` leaves (default: all of them). */
  root(size: number = this.#size): Uint8Array {
    this.#checkSize(size, 'size');
    if (size === 0) return EMPTY_ROOT.slice();
    return this.#rangeHash(0, size);
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first `size` leaves, leaf first. */
  inclusionProof(index: number, size: number = this.#size): Uint8Array[] {
    this.#checkSize(size, 'size');
    this.#checkIndex(index, size, 'index');
    // PATH(m, D[lo:lo+n]), unrolled from the root down; the proof lists siblings from the leaf up.
    const path: Uint8Array[] = [];
    let lo = 0;
    let n = size;
    let m = index;
    while (n > 1) {
      const k = largestPowerOfTwoBelow(n);
      if (m < k) {
        path.push(this.#rangeHash(lo + k, n - k));
        n = k;
      } else {
        path.push(this.#rangeHash(lo, k));
        lo += k;
        m -= k;
        n -= k;
      }
    }
    return path.reverse();
  }

  /**
   * RFC 9162 §2.1.4.1 consistency proof between the tree of the first `oldSize` leaves and the tree of the
   * first `newSize` leaves (0 < oldSize ≤ newSize ≤ size). Equal sizes give an empty proof.
   */
  consistencyProof(oldSize: number, newSize: number = this.#size): Uint8Array[] {
    this.#checkSize(newSize, 'newSize');
    if (!isSize(oldSize) || oldSize < 1 || oldSize > newSize) {
      throw new RangeError(
        `oldSize must be an integer in [1, ${newSize}] (a consistency proof from the empty tree is meaningless)`,
      );
    }
    // SUBPROOF(m, D[lo:lo+n], b), unrolled.
    const proof: Uint8Array[] = [];
    let lo = 0;
    let n = newSize;
    let m = oldSize;
    let complete = true;
    while (m !== n) {
      const k = largestPowerOfTwoBelow(n);
      if (m <= k) {
        proof.push(this.#rangeHash(lo + k, n - k));
        n = k;
      } else {
        proof.push(this.#rangeHash(lo, k));
        lo += k;
        m -= k;
        n -= k;
        complete = false;
      }
    }
    if (!complete) proof.push(this.#rangeHash(lo, m));
    return proof.reverse();
  }

  /**
   * MTH(D[start:start+count]) for count ≥ 1 and `start` a multiple of the largest power of two ≤ count
   * (always so for the nodes of RFC 9162 proofs): split into perfect subtrees from the left, each stored,
   * then fold them from the right. O(log n) reads and at most O(log n) hashes.
   */
  #rangeHash(start: number, count: number): Uint8Array {
    const pieces: Uint8Array[] = [];
    let pos = start;
    for (let level = log2Floor(count); level >= 0; level--) {
      const width = 2 ** level;
      if (Math.floor(count / width) % 2 === 1) {
        pieces.push(this.#node(level, pos / width));
        pos += width;
      }
    }
    // A lone piece is a view into a level array: hand out a copy. A fold is a fresh array already.
    if (pieces.length === 1) return pieces[0]!.slice();
    let acc = pieces.pop()!;
    while (pieces.length > 0) acc = rawNodeHash(pieces.pop()!, acc);
    return new Uint8Array(acc);
  }

  /** A view of stored node (level, index); must be complete. */
  #node(level: number, index: number): Uint8Array {
    const offset = index * HASH_SIZE;
    return this.#levels[level]!.subarray(offset, offset + HASH_SIZE);
  }

  #put(level: number, index: number, value: Uint8Array): void {
    let buf = this.#levels[level];
    const end = (index + 1) * HASH_SIZE;
    if (buf === undefined) {
      buf = new Uint8Array(HASH_SIZE * 64);
      this.#levels[level] = buf;
    } else if (end > buf.length) {
      const grown = new Uint8Array(Math.max(end, buf.length * 2));
      grown.set(buf);
      buf = grown;
      this.#levels[level] = buf;
    }
    buf.set(value, end - HASH_SIZE);
  }

  #checkSize(size: number, name: string): void {
    if (!isSize(size) || size > this.#size) {
      throw new RangeError(`${name} must be an integer in [0, ${this.#size}]`);
    }
  }

  #checkIndex(index: number, size: number, name: string): void {
    if (!isSize(index) || index >= size) {
      throw new RangeError(`${name} must be an integer in [0, ${size}) (got ${String(index)})`);
    }
  }
}

/**
 * The root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4), or `null` when the arguments are
 * malformed or the proof has the wrong length for (`index`, `size`). Never throws.
 */
export function rootFromInclusionProof(
  hashOfLeaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array | null {
  try {
    if (!isHash(hashOfLeaf) || !isSize(index) || !isSize(size) || index >= size) return null;
    if (!Array.isArray(proof) || proof.length > MAX_PROOF_LENGTH) return null;
    let fn = index;
    let sn = size - 1;
    let r = hashOfLeaf;
    for (const p of proof) {
      if (!isHash(p) || sn === 0) return null;
      if (isOdd(fn) || fn === sn) {
        r = rawNodeHash(p, r);
        if (!isOdd(fn)) {
          while (!isOdd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        r = rawNodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    if (sn !== 0) return null;
    return new Uint8Array(r);
  } catch {
    return null;
  }
}

/** RFC 9162 §2.1.3.2: does `proof` show leaf hash `hashOfLeaf` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(
  hashOfLeaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(root)) return false;
  const computed = rootFromInclusionProof(hashOfLeaf, index, size, proof);
  return computed !== null && bytesEqual(computed, root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of `oldSize` with `oldRoot` is a prefix of the tree of
 * `newSize` with `newRoot`? Requires 0 < oldSize ≤ newSize; equal sizes need an empty proof and equal
 * roots. Every hash must be 32 bytes. Never throws.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  try {
    if (!isSize(oldSize) || !isSize(newSize) || !isHash(oldRoot) || !isHash(newRoot)) return false;
    if (!Array.isArray(proof) || proof.length > MAX_PROOF_LENGTH) return false;
    if (oldSize === 0 || oldSize > newSize) return false;
    if (oldSize === newSize) return proof.length === 0 && bytesEqual(oldRoot, newRoot);
    if (proof.length === 0) return false;
    for (const p of proof) if (!isHash(p)) return false;

    // Step 2: when oldSize is a power of two, the old root is itself the first node of the path.
    const path = 2 ** log2Floor(oldSize) === oldSize ? [oldRoot, ...proof] : proof;
    let fn = oldSize - 1;
    let sn = newSize - 1;
    while (isOdd(fn)) {
      fn = half(fn);
      sn = half(sn);
    }
    let fr = path[0]!;
    let sr = path[0]!;
    for (let i = 1; i < path.length; i++) {
      const c = path[i]!;
      if (sn === 0) return false;
      if (isOdd(fn) || fn === sn) {
        fr = rawNodeHash(c, fr);
        sr = rawNodeHash(c, sr);
        if (!isOdd(fn)) {
          while (!isOdd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        sr = rawNodeHash(sr, c);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && bytesEqual(fr, oldRoot) && bytesEqual(sr, newRoot);
  } catch {
    return false;
  }
}
