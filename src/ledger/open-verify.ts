/**
 * What the ledger checks of its store: at open, that the stored log is what was signed (every stored leaf
 * read into a new tree, the tree checked against the latest checkpoint); after a failed write, that what
 * the store holds beyond the tree continues it (`catchUp`). A store that does not match is refused with
 * `LedgerCorruptError`, naming the first index that cannot be trusted.
 */
import { recordLeafHash } from './canonical-record.ts';
import { verifyCheckpoint } from './checkpoint.ts';
import { LedgerCorruptError } from './errors.ts';
import { MerkleTree } from './merkle.ts';
import type { LedgerStore, StoredCheckpoint } from './store/ports.ts';
import { sameBytes } from './store/validate.ts';

/** Stored records are read in chunks of this many. */
const CHUNK = 50_000;
/** Stored checkpoints are read in pages of this many. */
const CHECKPOINT_PAGE = 1000;

/** How much open checks: see `LedgerOptions.verify`. */
export type VerifyLevel = 'full' | 'tree';

/**
 * Rebuilds the tree from the store and checks it against the latest stored checkpoint, which must verify
 * under one of `keys` for `origin`. Resolves the tree and that checkpoint (`null` before the first).
 */
export async function openVerified(
  store: LedgerStore,
  verify: VerifyLevel,
  origin: string,
  keys: readonly string[],
): Promise<{ tree: MerkleTree; latest: StoredCheckpoint | null }> {
  const tree = await rebuild(store, verify);
  const latest = await store.latestCheckpoint();
  if (latest) await checkAgainst(store, tree, latest, origin, keys);
  return { tree, latest };
}

/**
 * Reads whatever the store holds beyond `tree` into it (another writer's records, or a batch whose reply
 * was lost), checking each record's text against its leaf hash and the indices for gaps. Throws
 * `LedgerCorruptError` when acknowledged records are missing or a record does not check out.
 */
export async function catchUp(store: LedgerStore, tree: MerkleTree): Promise<void> {
  const count = await store.count();
  if (count < tree.size)
    throw new LedgerCorruptError(count, 'acknowledged records are missing from the store');
  for (let from = tree.size; from < count; from += CHUNK) {
    const rows = await store.entries(from, Math.min(count, from + CHUNK));
    for (const [i, row] of rows.entries()) {
      if (row.index !== from + i) throw new LedgerCorruptError(from + i, 'a record is missing');
      if (!sameBytes(recordLeafHash(row.canonical), row.leafHash))
        throw new LedgerCorruptError(row.index, 'the record text does not hash to its leaf hash');
      tree.append(row.leafHash);
    }
  }
}

/**
 * Reads every stored leaf into a new tree, checking the indices are contiguous and (`full`) that each
 * record's text hashes to its stored leaf hash — on the store's own thread when it offers `verifyLeaves`,
 * while this one builds the tree. The first bad index of either check is the one named.
 */
async function rebuild(store: LedgerStore, verify: VerifyLevel): Promise<MerkleTree> {
  const count = await store.count();
  if (verify === 'full' && store.verifyLeaves) {
    const [built, checked] = await Promise.allSettled([
      leaves(store, count, 'tree'),
      store.verifyLeaves(0, count),
    ]);
    const problems: LedgerCorruptError[] = [];
    if (checked.status === 'rejected') throw checked.reason;
    if (checked.value !== null)
      problems.push(
        new LedgerCorruptError(checked.value, 'the record text does not hash to its stored leaf hash'),
      );
    if (built.status === 'rejected') {
      if (!(built.reason instanceof LedgerCorruptError)) throw built.reason;
      problems.push(built.reason);
    }
    if (problems.length > 0) throw problems.reduce((a, b) => (b.index < a.index ? b : a));
    return (built as PromiseFulfilledResult<MerkleTree>).value;
  }
  return leaves(store, count, verify);
}

async function leaves(store: LedgerStore, count: number, verify: VerifyLevel): Promise<MerkleTree> {
  const tree = new MerkleTree();
  for (let from = 0; from < count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK);
    if (verify === 'tree') {
      const hashes = await store.leafHashes(from, to);
      if (hashes.length === to - from) {
        for (const h of hashes) tree.append(h);
        continue;
      }
    }
    const rows = await store.leafData(from, to);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (row.index !== from + i) throw new LedgerCorruptError(from + i, 'the record is missing');
      if (verify === 'full' && !sameBytes(recordLeafHash(row.canonical), row.leafHash))
        throw new LedgerCorruptError(row.index, 'the record text does not hash to its stored leaf hash');
      tree.append(row.leafHash);
    }
    if (rows.length !== to - from) throw new LedgerCorruptError(from + rows.length, 'the record is missing');
  }
  return tree;
}

/**
 * Checks the tree against the latest checkpoint; on a mismatch, walks every stored checkpoint in order to
 * name the first range that no longer matches what was signed.
 */
async function checkAgainst(
  store: LedgerStore,
  tree: MerkleTree,
  latest: StoredCheckpoint,
  origin: string,
  keys: readonly string[],
): Promise<void> {
  if (matches(tree, latest, origin, keys) === null) return;
  let good = 0;
  for (let after: number | undefined; ; ) {
    const page = await store.checkpoints({
      limit: CHECKPOINT_PAGE,
      ...(after === undefined ? {} : { after }),
    });
    for (const cp of page) {
      const problem = matches(tree, cp, origin, keys);
      if (problem !== null)
        throw new LedgerCorruptError(problem === 'missing' ? tree.size : good, describe(problem, cp));
      good = cp.size;
    }
    if (page.length < CHECKPOINT_PAGE) break;
    after = page.at(-1)!.size;
  }
  throw new LedgerCorruptError(good, describe(matches(tree, latest, origin, keys)!, latest));
}

type Problem = 'signature' | 'origin' | 'mismatch' | 'missing';

function matches(
  tree: MerkleTree,
  cp: StoredCheckpoint,
  origin: string,
  keys: readonly string[],
): Problem | null {
  let signed: { origin: string; size: number; root: Uint8Array };
  try {
    signed = verifyCheckpoint(cp.note, keys, {});
  } catch {
    return 'signature';
  }
  if (signed.origin !== origin) return 'origin';
  if (signed.size !== cp.size || !sameBytes(signed.root, cp.root)) return 'signature';
  if (cp.size > tree.size) return 'missing';
  return sameBytes(tree.root(cp.size), cp.root) ? null : 'mismatch';
}

function describe(problem: Problem, cp: StoredCheckpoint): string {
  switch (problem) {
    case 'signature':
      return `the checkpoint of size ${cp.size} does not verify under the ledger keys`;
    case 'origin':
      return `the checkpoint of size ${cp.size} is for another log origin`;
    case 'missing':
      return `the checkpoint of size ${cp.size} covers records the store does not hold`;
    case 'mismatch':
      return `the stored records do not hash to the root signed at size ${cp.size}`;
  }
}
