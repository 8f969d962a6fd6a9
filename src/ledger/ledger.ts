import { GroupCommit } from './append.ts';
import { noteVerifierKey, parseNoteVerifierKey } from './checkpoint.ts';
import { Checkpointer, type LedgerSigner } from './checkpointer.ts';
import type { DecisionLog, DecisionRecord } from './decision-log.ts';
import type { MerkleTree } from './merkle.ts';
import { openVerified, type VerifyLevel } from './open-verify.ts';
import { type ConsistencyProof, consistencyProof, type InclusionProof, inclusionProof } from './proofs.ts';
import { checkedRecord, type LedgerRecord } from './records.ts';
import type { LedgerQuery, LedgerStore, StoredCheckpoint } from './store/ports.ts';

export type { LedgerSigner } from './checkpointer.ts';
export type { ConsistencyProof, InclusionProof } from './proofs.ts';
export type { LedgerRecord } from './records.ts';

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
  readonly verify?: VerifyLevel;
  /** The most records in one transaction (default 4096). */
  readonly maxBatch?: number;
  /** Epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

const DEFAULT_ORIGIN = 'warrant.local/ledger';

interface Settings {
  readonly origin: string;
  readonly every: { readonly records: number; readonly ms: number };
  readonly maxBatch: number;
  readonly now: () => number;
  readonly verify: VerifyLevel;
  /** The note verifier keys the stored checkpoints may be signed with: the signer's, then the trusted. */
  readonly keys: readonly string[];
}

/**
 * The decision ledger (DESIGN §8): an append-only RFC 9162 Merkle log of canonical (RFC 8785) decision
 * records over a `LedgerStore`, with signed C2SP checkpoints.
 *
 * `append` uses group commit (`append.ts`): records arriving while a batch is being written wait for the
 * next batch; each batch is one store transaction, and each `append` resolves (with the record's index)
 * only once its batch is durable. Records are signed per batch (`checkpointer.ts`): a checkpoint (one
 * Ed25519 signature over the tree root) follows within `checkpointEvery.records` records or
 * `checkpointEvery.ms` ms of every write, and at `close()`; an inclusion proof links each record to a
 * checkpoint (`proofs.ts`). Open verifies the stored log against the latest checkpoint (`open-verify.ts`).
 *
 * One `Ledger` writes a given store at a time. Should another writer append first, the ledger reads the
 * foreign records into its tree and retries, so the log stays one sequence.
 */
export class Ledger implements DecisionLog {
  readonly origin: string;
  /** The C2SP note verifier key of the signer: give it to whoever verifies checkpoints. */
  readonly verifierKey: string;
  readonly #store: LedgerStore;
  readonly #tree: MerkleTree;
  readonly #checkpointer: Checkpointer;
  readonly #writer: GroupCommit;
  #closing: Promise<void> | null = null;

  private constructor(
    store: LedgerStore,
    signer: LedgerSigner,
    tree: MerkleTree,
    latest: StoredCheckpoint | null,
    settings: Settings,
  ) {
    this.#store = store;
    this.#tree = tree;
    this.origin = settings.origin;
    this.verifierKey = settings.keys[0]!;
    this.#checkpointer = new Checkpointer(store, tree, signer, latest, {
      origin: settings.origin,
      every: settings.every,
      now: settings.now,
      kick: () => this.#writer.kick(),
    });
    this.#writer = new GroupCommit(store, tree, settings.maxBatch, this.#checkpointer);
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
    const settings = checkOptions(signer, options);
    try {
      const { tree, latest } = await openVerified(store, settings.verify, settings.origin, settings.keys);
      const ledger = new Ledger(store, signer, tree, latest, settings);
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

  /** Batches written by this instance (for metrics and benchmarks). */
  get batches(): number {
    return this.#writer.batches;
  }

  /** Records written by this instance (for metrics and benchmarks). */
  get records(): number {
    return this.#writer.records;
  }

  /** The latest stored checkpoint (`null` before the first). */
  latestCheckpoint(): StoredCheckpoint | null {
    return this.#checkpointer.latest;
  }

  /**
   * Appends a decision record; resolves with its index once it is durable. The record is stored as given
   * plus an `index` member, in RFC 8785 canonical form. Rejects with `TypeError` for a record that is not
   * a JSON object with a parseable `time` (or that carries an `index`), `LedgerWriteError` when the store
   * failed (the record is then not acknowledged, though a store that committed but lost the reply may
   * still hold it), and `LedgerClosedError` after `close()`. The record is read once, when it is appended
   * (its canonical text is made then): changing it afterwards changes nothing in the log.
   */
  append(record: DecisionRecord): Promise<number> {
    return this.#writer.append(record);
  }

  /**
   * Records what nothing waits for (a call's outcome): it joins the next batch a durable append starts,
   * or a timer's batch, instead of forcing a commit of its own — one durable write per call, not two.
   */
  note(record: DecisionRecord): void {
    this.#writer.note(record);
  }

  /**
   * Writes a checkpoint of everything appended so far (after the batches in flight) and resolves it; the
   * latest one when nothing new was appended. Rejects when the store refuses it.
   */
  async checkpoint(): Promise<StoredCheckpoint | null> {
    await this.#writer.idle();
    if (this.#checkpointer.uncovered === 0) return this.#checkpointer.latest;
    this.#checkpointer.request();
    this.#writer.kick();
    await this.#writer.idle();
    if (this.#checkpointer.uncovered > 0 && this.#checkpointer.error) throw this.#checkpointer.error;
    return this.#checkpointer.latest;
  }

  /**
   * The inclusion proof of record `index` against the checkpoint of `size` records (default: the latest
   * checkpoint, written first when it does not cover `index` yet).
   */
  inclusionProof(index: number, size?: number): Promise<InclusionProof> {
    return inclusionProof(this.#tree, this, index, size);
  }

  /**
   * The consistency proof from the tree of `oldSize` records (at least 1) to that of `newSize` (default: the
   * latest checkpoint's).
   */
  consistencyProof(oldSize: number, newSize?: number): ConsistencyProof {
    return consistencyProof(this.#tree, this.#checkpointer.latest?.size, oldSize, newSize);
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
    return entry ? checkedRecord(this.#tree, entry) : null;
  }

  /** Records matching every given field (`person` is the person's `sub`; times in epoch ms), by index. */
  async query(query: LedgerQuery): Promise<{ items: LedgerRecord[]; next: number | null }> {
    const page = await this.#store.query(query);
    return { items: page.items.map((e) => checkedRecord(this.#tree, e)), next: page.next };
  }

  /**
   * Stops taking appends, waits for the ones accepted, writes a final checkpoint, and closes the store.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#checkpointer.closing();
      try {
        this.#writer.close();
        await this.#writer.idle();
        if (this.#checkpointer.uncovered > 0 && !this.#writer.needsResync) {
          this.#checkpointer.request();
          this.#writer.kick();
          await this.#writer.idle();
        }
      } finally {
        this.#checkpointer.stop();
        await this.#store.close();
      }
    })();
    return this.#closing;
  }
}

/** Checks `open`'s arguments (caller mistakes are `TypeError`s) and fills in the defaults. */
function checkOptions(signer: LedgerSigner, options: LedgerOptions): Settings {
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
  return { origin, every, maxBatch, now, verify, keys };
}
