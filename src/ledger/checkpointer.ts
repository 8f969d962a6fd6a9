/**
 * Signed checkpoints of the ledger (DESIGN §8): one Ed25519 signature (a C2SP signed note) over the tree
 * root follows within `every.records` records or `every.ms` ms of every write. The checkpointer decides
 * when one is due; the writer loop (`append.ts`) writes it between batches, so store writes never overlap.
 * A checkpoint the store refuses is retried after the interval; the records stay durable meanwhile.
 */
import type { SigningKey } from '../core/jose/jwk.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { MerkleTree } from './merkle.ts';
import type { LedgerStore, StoredCheckpoint } from './store/ports.ts';

/** The key that signs checkpoints (Ed25519; C2SP signed-note key name, e.g. the origin). */
export interface LedgerSigner {
  readonly name: string;
  readonly key: SigningKey;
}

export interface CheckpointerSettings {
  readonly origin: string;
  readonly every: { readonly records: number; readonly ms: number };
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Starts the writer loop (which then calls `run` when `due`). */
  readonly kick: () => void;
}

export class Checkpointer {
  readonly #store: LedgerStore;
  readonly #tree: MerkleTree;
  readonly #signer: LedgerSigner;
  readonly #settings: CheckpointerSettings;
  #latest: StoredCheckpoint | null;
  #lastCheckpointAt: number;
  #due = false;
  #error: unknown = null;
  #timer: NodeJS.Timeout | null = null;
  #closing = false;

  constructor(
    store: LedgerStore,
    tree: MerkleTree,
    signer: LedgerSigner,
    latest: StoredCheckpoint | null,
    settings: CheckpointerSettings,
  ) {
    this.#store = store;
    this.#tree = tree;
    this.#signer = signer;
    this.#latest = latest;
    this.#settings = settings;
    this.#lastCheckpointAt = settings.now();
  }

  /** The latest stored checkpoint (`null` before the first). */
  get latest(): StoredCheckpoint | null {
    return this.#latest;
  }

  /** Records in the tree that no stored checkpoint covers. */
  get uncovered(): number {
    return this.#tree.size - (this.#latest?.size ?? 0);
  }

  /** A checkpoint is to be written before the next batch. */
  get due(): boolean {
    return this.#due;
  }

  /** Why the last checkpoint failed (`null` once one succeeded). */
  get error(): unknown {
    return this.#error;
  }

  /** Asks for a checkpoint before the next batch (the caller kicks the writer loop). */
  request(): void {
    this.#due = true;
  }

  /** After a batch: due now when `every.records` records are uncovered, else within `every.ms` of the last. */
  committed(): void {
    this.#schedule();
  }

  #schedule(): void {
    const uncovered = this.uncovered;
    if (uncovered <= 0) return;
    if (uncovered >= this.#settings.every.records) {
      this.#due = true;
      return;
    }
    if (this.#timer) return;
    const delay = Math.max(0, this.#lastCheckpointAt + this.#settings.every.ms - this.#settings.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#closing) return;
      this.#due = true;
      this.#settings.kick();
    }, delay);
    this.#timer.unref();
  }

  /** Signs and stores a checkpoint of the whole tree (unless the latest covers it). Never rejects. */
  async run(): Promise<void> {
    this.#due = false;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const size = this.#tree.size;
    if (size === 0 || this.#latest?.size === size) return;
    try {
      const root = this.#tree.root(size);
      const note = signCheckpoint({ origin: this.#settings.origin, size, root }, this.#signer);
      const cp: StoredCheckpoint = { size, root, note, time: Math.floor(this.#settings.now()) };
      await this.#store.putCheckpoint(cp);
      this.#latest = cp;
      this.#lastCheckpointAt = cp.time;
      this.#error = null;
    } catch (error) {
      // The records stay durable; the checkpoint is retried after the interval.
      this.#error = error;
      this.#lastCheckpointAt = this.#settings.now();
      if (!this.#closing) this.#schedule();
    }
  }

  /** The ledger is closing: no timer starts a checkpoint any more, and a failed one is not retried. */
  closing(): void {
    this.#closing = true;
  }

  /** Cancels the pending timer. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
