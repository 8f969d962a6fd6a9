/** RFC 9162 proofs from the ledger's verified tree, tied to its signed checkpoints. */
import type { MerkleTree } from './merkle.ts';
import type { StoredCheckpoint } from './store/ports.ts';

/** RFC 9162 inclusion proof of record `index` in the tree of `size` records, with the signed checkpoint of that size. */
export interface InclusionProof {
  readonly index: number;
  readonly size: number;
  readonly leafHash: Uint8Array;
  readonly proof: Uint8Array[];
  readonly checkpoint: string;
}

/** RFC 9162 consistency proof between the trees of `oldSize` and `newSize` records. */
export interface ConsistencyProof {
  readonly oldSize: number;
  readonly newSize: number;
  readonly proof: Uint8Array[];
}

/** Where the proofs find the checkpoints (the `Ledger`). */
export interface Checkpoints {
  latestCheckpoint(): StoredCheckpoint | null;
  checkpointAt(size: number): Promise<StoredCheckpoint | null>;
  /** Writes a checkpoint of everything appended so far and resolves it. */
  checkpoint(): Promise<StoredCheckpoint | null>;
}

/**
 * The inclusion proof of record `index` against the checkpoint of `size` records (default: the latest
 * checkpoint, written first when it does not cover `index` yet).
 */
export async function inclusionProof(
  tree: MerkleTree,
  checkpoints: Checkpoints,
  index: number,
  size?: number,
): Promise<InclusionProof> {
  checkIndex(index, 'index');
  if (index >= tree.size) throw new RangeError(`index ${index} is not in the ledger`);
  let cp = checkpoints.latestCheckpoint();
  if (size !== undefined) {
    checkIndex(size, 'size');
    if (cp?.size !== size) cp = await checkpoints.checkpointAt(size);
    if (!cp) throw new RangeError(`no checkpoint of size ${size} is stored`);
  } else if (!cp || cp.size <= index) {
    cp = await checkpoints.checkpoint();
  }
  if (!cp || index >= cp.size) throw new RangeError(`index ${index} is not covered by the checkpoint`);
  return {
    index,
    size: cp.size,
    leafHash: tree.leafHash(index),
    proof: tree.inclusionProof(index, cp.size),
    checkpoint: cp.note,
  };
}

/**
 * The consistency proof from the tree of `oldSize` records (at least 1) to that of `newSize` (default:
 * `latestSize`, the latest checkpoint's, else the whole tree).
 */
export function consistencyProof(
  tree: MerkleTree,
  latestSize: number | undefined,
  oldSize: number,
  newSize?: number,
): ConsistencyProof {
  checkIndex(oldSize, 'oldSize');
  if (oldSize === 0) throw new RangeError('oldSize must be at least 1');
  const to = newSize ?? latestSize ?? tree.size;
  checkIndex(to, 'newSize');
  if (to > tree.size) throw new RangeError(`the ledger has ${tree.size} records, not ${to}`);
  if (oldSize > to) throw new RangeError('oldSize must not exceed newSize');
  return { oldSize, newSize: to, proof: tree.consistencyProof(oldSize, to) };
}

function checkIndex(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new TypeError(`${name} must be a non-negative integer`);
}
