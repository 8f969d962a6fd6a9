import type { SigningKey } from '../core/jose/jwk.ts';
import { canonicalRecord, recordLeafHash } from './canonical-record.ts';
import { noteVerifierKey, parseNoteVerifierKey, signCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import type { DecisionLog, DecisionRecord } from './decision-log.ts';
import { LedgerClosedError, LedgerConflictError, LedgerCorruptError, LedgerWriteError } from './errors.ts';
import { MerkleTree } from './merkle.ts';
import type { LedgerEntry, LedgerQuery, LedgerStore, StoredCheckpoint } from './store/ports.ts';
import { sameBytes } from './store/validate.ts';

/** The key that signs checkpoints (Ed25519; C2SP signed-note key name, e.g. the origin). */
export interface LedgerSigner {
  readonly name: string;
  readonly key: SigningKey;
}

export interface LedgerOptions {
  /** The checkpoint origin line, naming this log (default `warrant.local/ledger`). */
  readonly origin?: string;
  /** A signed checkpoint after this many records or this many ms after a write, whichever first (default 1000 / 1000). */
  readonly checkpointEvery?: { readonly records: number; readonly ms: number };
  /**
   * Note verifier keys (`name+hash+key`) also accepted on the stored checkpoints at open, beside the
   * signer's own: the keys this log was signed with before a rotation.
   */
  readonly trustedKeys?: readonly string[];
  /**
   * What open checks: `full` (default) re-hashes every stored record's text against its stored leaf
   * hash, then checks the tree against the latest checkpoint; `tree` only checks the stored leaf hashes
   * against the checkpoint (faster; a record text edited without its hash goes unnoticed until read).
   */
  readonly verify?: 'full' | 'tree';
  /** The most records in one transaction (default 4096). */
  readonly maxBatch?: number;
  /** Epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

/** A record as read back: the record (with its `index`), its canonical text and its leaf hash. */
export interface LedgerRecord {
  readonly index: number;
  readonly record: DecisionRecord & { readonly index: number };
  readonly canonical: string;
  readonly leafHash: Uint8Array;
}

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

interface Pending {
  readonly record: DecisionRecord;
  readonly time: number;
  readonly resolve: (index: number) => void;
  readonly reject: (error: unknown) => void;
}

const DEFAULT_ORIGIN = 'warrant.local/ledger';
const OPEN_CHUNK = 50_000;
const CONFLICT_RETRIES = 3;

/**
 * The decision ledger (DESIGN §8): an append-only RFC 9162 Merkle log of canonical (RFC 8785) decision
 * records over a `LedgerStore`, with signed C2SP checkpoints.
 *
 * `append` uses group commit: records arriving while a batch is being written wait for the next batch;
 * each batch is one store transaction, and each `append` resolves (with the record's index) only once its
 * batch is durable. Records are signed per batch: a checkpoint (one Ed25519 signature over the tree root)
 * follows within `checkpointEvery.records` records or `checkpointEvery.ms` ms of every write, and at
 * `close()`; an inclusion proof links each record to a checkpoint.
 *
 * One `Ledger` writes a given store at a time. Should another writer append first, the ledger reads the
 * foreign records into its tree and retries, so the log stays one sequence.
 */
export class Ledger implements DecisionLog {
  readonly origin: string;
  /** The C2SP note verifier key of the signer: give it to whoever verifies checkpoints. */
  readonly verifierKey: string;
  readonly #store: LedgerStore;
  readonly #signer: LedgerSigner;
  readonly #tree: MerkleTree;
  readonly #every: { readonly records: number; readonly ms: number };
  readonly #maxBatch: number;
  readonly #now: () => number;
  #pending: Pending[] = [];
  #writing: Promise<void> | null = null;
  #latest: StoredCheckpoint | null;
  #lastCheckpointAt: number;
  #checkpointDue = false;
  #checkpointError: unknown = null;
  #timer: NodeJS.Timeout | null = null;
  #needsResync = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Batches and records written by this instance (for metrics and benchmarks). */
  batches = 0;
  records = 0;

  private constructor(
    store: LedgerStore,
    signer: LedgerSigner,
    tree: MerkleTree,
    latest: StoredCheckpoint | null,
    settings: { origin: string; every: { records: number; ms: number }; maxBatch: number; now: () => number },
  ) {
    this.#store = store;
    this.#signer = signer;
    this.#tree = tree;
    this.#latest = latest;
    this.origin = settings.origin;
    this.#every = settings.every;
    this.#maxBatch = settings.maxBatch;
    this.#now = settings.now;
    this.#lastCheckpointAt = settings.now();
    this.verifierKey = noteVerifierKey(signer.name, signer.key);
  }

  /**
   * Opens the ledger on `store` (which it then owns and closes): rebuilds the Merkle tree from the stored
   * leaves and verifies it against the latest stored checkpoint, refusing a store that does not match with
   * `LedgerCorruptError` (naming the first bad index). Records stored after the latest checkpoint (a
   * crash between a batch and its checkpoint) are then covered by a new checkpoint before it resolves.
   * When it rejects, the store is closed.
   */
  static async open(store: LedgerStore, signer: LedgerSigner, options: LedgerOptions = {}): Promise<Ledger> {
    if (typeof store !== 'object' || store === null) throw new TypeError('store must be a LedgerStore');
    if (typeof signer !== 'object' || signer === null || typeof signer.name !== 'string' || !signer.key)
      throw new TypeError('signer must be { name, key }');
    if (signer.key.alg !== 'EdDSA') throw new TypeError('the ledger signer must be an Ed25519 key');
    const origin = options.origin ?? DEFAULT_ORIGIN;
    if (typeof origin !== 'string' || origin.length === 0 || /[\n]/.test(origin))
      throw new TypeError('origin must be a non-empty line');
    const every = options.checkpointEvery ?? { records: 1000, ms: 1000 };
    if (
      !Number.isSafeInteger(every.records) ||
      every.records < 1 ||
      !Number.isSafeInteger(every.ms) ||
      every.ms < 1
    )
      throw new TypeError('checkpointEvery must be { records >= 1, ms >= 1 } (integers)');
    const maxBatch = options.maxBatch ?? 4096;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1)
      throw new TypeError('maxBatch must be a positive integer');
    const now = options.now ?? Date.now;
    const verify = options.verify ?? 'full';
    if (verify !== 'full' && verify !== 'tree') throw new TypeError('verify must be full or tree');
    const trusted = options.trustedKeys ?? [];
    if (!Array.isArray(trusted)) throw new TypeError('trustedKeys must be an array of note verifier keys');
    for (const key of trusted) parseNoteVerifierKey(key);
    const keys = [noteVerifierKey(signer.name, signer.key), ...trusted];

    try {
      const tree = await rebuild(store, verify);
      const latest = await store.latestCheckpoint();
      if (latest) await checkAgainst(store, tree, latest, origin, keys);
      const ledger = new Ledger(store, signer, tree, latest, { origin, every, maxBatch, now });
      if (tree.size > (latest?.size ?? 0)) await ledger.checkpoint();
      return ledger;
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
  }

  /** The number of durable records. */
  get size(): number {
    return this.#tree.size;
  }

  /** The latest stored checkpoint (`null` before the first). */
  latestCheckpoint(): StoredCheckpoint | null {
    return this.#latest;
  }

  /**
   * Appends a decision record; resolves with its index once it is durable. The record is stored as given
   * plus an `index` member, in RFC 8785 canonical form. Rejects with `TypeError` for a record that is not
   * a JSON object with a parseable `time` (or that carries an `index`), `LedgerWriteError` when the store
   * failed (the record is then not acknowledged, though a store that committed but lost the reply may
   * still hold it), and `LedgerClosedError` after `close()`. The record is read again when its batch is
   * written: do not change it before the append settles.
   */
  append(record: DecisionRecord): Promise<number> {
    if (this.#closed) return Promise.reject(new LedgerClosedError('the ledger is closed'));
    if (typeof record !== 'object' || record === null || Array.isArray(record))
      return Promise.reject(new TypeError('record must be an object'));
    if (Object.hasOwn(record, 'index'))
      return Promise.reject(new TypeError('record must not carry an index: the ledger numbers records'));
    const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
    if (!Number.isFinite(time))
      return Promise.reject(new TypeError('record time must be an ISO 8601 date-time'));
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ record, time, resolve, reject });
      this.#kick();
    });
  }

  /**
   * Records what nothing waits for (a call's outcome): it joins the next batch a durable append starts,
   * or a timer's batch, instead of forcing a commit of its own — one durable write per call, not two.
   */
  note(record: DecisionRecord): void {
    if (this.#closed) return;
    const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
    if (!Number.isFinite(time) || Object.hasOwn(record, 'index')) return;
    this.#pending.push({ record, time, resolve: () => {}, reject: () => {} });
    this.#lazy ??= setTimeout(() => {
      this.#lazy = undefined;
      if (this.#pending.length > 0) this.#kick();
    }, 50);
    this.#lazy.unref?.();
  }
  #lazy: NodeJS.Timeout | undefined;

  #kick(): void {
    this.#writing ??= this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        if (this.#checkpointDue) await this.#writeCheckpoint();
        if (this.#pending.length === 0) break;
        const batch =
          this.#pending.length <= this.#maxBatch ? this.#pending : this.#pending.slice(0, this.#maxBatch);
        this.#pending = batch === this.#pending ? [] : this.#pending.slice(this.#maxBatch);
        await this.#commit(batch);
      }
    } finally {
      this.#writing = null;
    }
  }

  /** Writes one batch: canonical form and leaf hash per record, one store transaction, then the tree. */
  async #commit(batch: Pending[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.#needsResync) {
        try {
          await this.#resync();
        } catch (error) {
          for (const p of batch)
            p.reject(new LedgerWriteError('the ledger store is unavailable', { cause: error }));
          return;
        }
      }
      const base = this.#tree.size;
      const entries: LedgerEntry[] = [];
      const accepted: Pending[] = [];
      for (const p of batch) {
        let canonical: string;
        try {
          canonical = canonicalRecord(p.record, base + entries.length);
        } catch (error) {
          p.reject(new TypeError('record is not representable as canonical JSON', { cause: error }));
          continue;
        }
        entries.push(toEntry(base + entries.length, canonical, p.record, p.time));
        accepted.push(p);
      }
      if (entries.length === 0) return;
      try {
        await this.#store.appendBatch(entries);
      } catch (error) {
        this.#needsResync = true;
        if (error instanceof LedgerConflictError && attempt < CONFLICT_RETRIES) {
          batch = accepted;
          continue;
        }
        const failure =
          error instanceof LedgerClosedError ? error : new LedgerWriteError(undefined, { cause: error });
        for (const p of accepted) p.reject(failure);
        return;
      }
      for (const e of entries) this.#tree.append(e.leafHash);
      this.batches++;
      this.records += entries.length;
      for (let i = 0; i < accepted.length; i++) accepted[i]!.resolve(entries[i]!.index);
      this.#scheduleCheckpoint();
      return;
    }
  }

  /** After a failed write: reads whatever the store holds beyond the tree (another writer's, or a batch whose reply was lost). */
  async #resync(): Promise<void> {
    const count = await this.#store.count();
    if (count < this.#tree.size)
      throw new LedgerCorruptError(count, 'acknowledged records are missing from the store');
    for (let from = this.#tree.size; from < count; from += OPEN_CHUNK) {
      const rows = await this.#store.entries(from, Math.min(count, from + OPEN_CHUNK));
      for (const [i, row] of rows.entries()) {
        if (row.index !== from + i) throw new LedgerCorruptError(from + i, 'a record is missing');
        if (!sameBytes(recordLeafHash(row.canonical), row.leafHash))
          throw new LedgerCorruptError(row.index, 'the record text does not hash to its leaf hash');
        this.#tree.append(row.leafHash);
      }
    }
    this.#needsResync = false;
  }

  #scheduleCheckpoint(): void {
    const uncovered = this.#tree.size - (this.#latest?.size ?? 0);
    if (uncovered <= 0) return;
    if (uncovered >= this.#every.records) {
      this.#checkpointDue = true;
      return;
    }
    if (this.#timer) return;
    const delay = Math.max(0, this.#lastCheckpointAt + this.#every.ms - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#closing) return;
      this.#checkpointDue = true;
      this.#kick();
    }, delay);
    this.#timer.unref();
  }

  async #writeCheckpoint(): Promise<void> {
    this.#checkpointDue = false;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const size = this.#tree.size;
    if (size === 0 || this.#latest?.size === size) return;
    try {
      const root = this.#tree.root(size);
      const note = signCheckpoint({ origin: this.origin, size, root }, this.#signer);
      const cp: StoredCheckpoint = { size, root, note, time: Math.floor(this.#now()) };
      await this.#store.putCheckpoint(cp);
      this.#latest = cp;
      this.#lastCheckpointAt = cp.time;
      this.#checkpointError = null;
    } catch (error) {
      // The records stay durable; the checkpoint is retried after the interval.
      this.#checkpointError = error;
      this.#lastCheckpointAt = this.#now();
      if (!this.#closing) this.#scheduleCheckpoint();
    }
  }

  /**
   * Writes a checkpoint of everything appended so far (after the batches in flight) and resolves it; the
   * latest one when nothing new was appended. Rejects when the store refuses it.
   */
  async checkpoint(): Promise<StoredCheckpoint | null> {
    while (this.#writing) await this.#writing;
    if (this.#tree.size === (this.#latest?.size ?? 0)) return this.#latest;
    this.#checkpointDue = true;
    this.#kick();
    while (this.#writing) await this.#writing;
    if (this.#tree.size > (this.#latest?.size ?? 0) && this.#checkpointError) throw this.#checkpointError;
    return this.#latest;
  }

  /**
   * The inclusion proof of record `index` against the checkpoint of `size` records (default: the latest
   * checkpoint, written first when it does not cover `index` yet).
   */
  async inclusionProof(index: number, size?: number): Promise<InclusionProof> {
    checkIndex(index, 'index');
    if (index >= this.#tree.size) throw new RangeError(`index ${index} is not in the ledger`);
    let cp = this.#latest;
    if (size !== undefined) {
      checkIndex(size, 'size');
      if (cp?.size !== size) cp = await this.#store.checkpointAt(size);
      if (!cp) throw new RangeError(`no checkpoint of size ${size} is stored`);
    } else if (!cp || cp.size <= index) {
      cp = await this.checkpoint();
    }
    if (!cp || index >= cp.size) throw new RangeError(`index ${index} is not covered by the checkpoint`);
    return {
      index,
      size: cp.size,
      leafHash: this.#tree.leafHash(index),
      proof: this.#tree.inclusionProof(index, cp.size),
      checkpoint: cp.note,
    };
  }

  /**
   * The consistency proof from the tree of `oldSize` records (at least 1) to that of `newSize` (default: the
   * latest checkpoint's).
   */
  consistencyProof(oldSize: number, newSize?: number): ConsistencyProof {
    checkIndex(oldSize, 'oldSize');
    if (oldSize === 0) throw new RangeError('oldSize must be at least 1');
    const to = newSize ?? this.#latest?.size ?? this.#tree.size;
    checkIndex(to, 'newSize');
    if (to > this.#tree.size) throw new RangeError(`the ledger has ${this.#tree.size} records, not ${to}`);
    if (oldSize > to) throw new RangeError('oldSize must not exceed newSize');
    return { oldSize, newSize: to, proof: this.#tree.consistencyProof(oldSize, to) };
  }

  /** The stored checkpoint of `size` records, if one was written. */
  checkpointAt(size: number): Promise<StoredCheckpoint | null> {
    return this.#store.checkpointAt(size);
  }

  /** Stored checkpoints by size ascending. */
  checkpoints(query: { after?: number; limit: number }): Promise<StoredCheckpoint[]> {
    return this.#store.checkpoints(query);
  }

  /**
   * The record at `index`. Its text is checked against the leaf hash in the verified tree: a stored record
   * changed since open rejects with `LedgerCorruptError`.
   */
  async getRecord(index: number): Promise<LedgerRecord | null> {
    const entry = await this.#store.getRecord(index);
    return entry ? this.#checked(entry) : null;
  }

  /** Records matching every given field (`person` is the person's `sub`; times in epoch ms), by index. */
  async query(query: LedgerQuery): Promise<{ items: LedgerRecord[]; next: number | null }> {
    const page = await this.#store.query(query);
    return { items: page.items.map((e) => this.#checked(e)), next: page.next };
  }

  #checked(entry: LedgerEntry): LedgerRecord {
    const hash = recordLeafHash(entry.canonical);
    const known = entry.index < this.#tree.size ? this.#tree.leafHash(entry.index) : entry.leafHash;
    if (!sameBytes(hash, known))
      throw new LedgerCorruptError(entry.index, 'the stored record does not hash to its leaf in the tree');
    return toRecord(entry);
  }

  /**
   * Stops taking appends, waits for the ones accepted, writes a final checkpoint, and closes the store.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      try {
        clearTimeout(this.#lazy);
        if (this.#pending.length > 0) this.#kick();
        while (this.#writing) await this.#writing;
        if (this.#tree.size > (this.#latest?.size ?? 0) && !this.#needsResync) {
          this.#checkpointDue = true;
          this.#kick();
          while (this.#writing) await this.#writing;
        }
      } finally {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = null;
        await this.#store.close();
      }
    })();
    return this.#closing;
  }
}

function checkIndex(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new TypeError(`${name} must be a non-negative integer`);
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function toEntry(index: number, canonical: string, record: DecisionRecord, time: number): LedgerEntry {
  return {
    index,
    leafHash: recordLeafHash(canonical),
    canonical,
    time,
    txn: text(record.txn),
    person: text(record.person?.sub),
    caller: text(record.caller),
    action: text(record.action),
    decision: text(record.decision),
  };
}

function toRecord(entry: LedgerEntry): LedgerRecord {
  return {
    index: entry.index,
    record: JSON.parse(entry.canonical) as LedgerRecord['record'],
    canonical: entry.canonical,
    leafHash: entry.leafHash,
  };
}

/**
 * Reads every stored leaf into a new tree, checking the indices are contiguous and (`full`) that each
 * record's text hashes to its stored leaf hash — on the store's own thread when it offers `verifyLeaves`,
 * while this one builds the tree. The first bad index of either check is the one named.
 */
async function rebuild(store: LedgerStore, verify: 'full' | 'tree'): Promise<MerkleTree> {
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

async function leaves(store: LedgerStore, count: number, verify: 'full' | 'tree'): Promise<MerkleTree> {
  const tree = new MerkleTree();
  for (let from = 0; from < count; from += OPEN_CHUNK) {
    const to = Math.min(count, from + OPEN_CHUNK);
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
  keys: string[],
): Promise<void> {
  if (matches(tree, latest, origin, keys) === null) return;
  let good = 0;
  for (let after: number | undefined; ; ) {
    const page = await store.checkpoints({ limit: 1000, ...(after === undefined ? {} : { after }) });
    for (const cp of page) {
      const problem = matches(tree, cp, origin, keys);
      if (problem !== null)
        throw new LedgerCorruptError(problem === 'missing' ? tree.size : good, describe(problem, cp));
      good = cp.size;
    }
    if (page.length < 1000) break;
    after = page.at(-1)!.size;
  }
  throw new LedgerCorruptError(good, describe(matches(tree, latest, origin, keys)!, latest));
}

type Problem = 'signature' | 'origin' | 'mismatch' | 'missing';

function matches(tree: MerkleTree, cp: StoredCheckpoint, origin: string, keys: string[]): Problem | null {
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
