/**
 * The ledger's write path: the queue of pending appends, the single writer loop (the pump) and group
 * commit. Records arriving while a batch is being written wait for the next batch; each batch is one
 * store transaction, and each `append` resolves (with the record's index) only once its batch is durable.
 *
 * Between batches the loop runs whatever the `BetweenBatches` hook says is due (the checkpointer's next
 * checkpoint), so store writes never overlap. After a failed write it reads what the store holds beyond
 * the tree (`catchUp`) before the next batch: another writer's records, or a batch whose reply was lost.
 */
import type { DecisionRecord } from './decision-log.ts';
import { LedgerClosedError, LedgerConflictError, LedgerWriteError } from './errors.ts';
import type { MerkleTree } from './merkle.ts';
import { catchUp } from './open-verify.ts';
import { toEntry } from './records.ts';
import type { LedgerEntry, LedgerStore } from './store/ports.ts';

/** What the writer loop runs between batches, and tells after each durable batch. */
export interface BetweenBatches {
  /** Work is due before the next batch (a checkpoint). */
  readonly due: boolean;
  /** Does that work; never rejects. */
  run(): Promise<void>;
  /** A batch is durable and in the tree. */
  committed(): void;
}

interface Pending {
  readonly record: DecisionRecord;
  readonly time: number;
  readonly resolve: (index: number) => void;
  readonly reject: (error: unknown) => void;
}

const CONFLICT_RETRIES = 3;
/** How long a noted record waits for a durable append to ride with before it is written alone. */
const NOTE_DELAY_MS = 50;

export class GroupCommit {
  readonly #store: LedgerStore;
  readonly #tree: MerkleTree;
  readonly #maxBatch: number;
  readonly #between: BetweenBatches;
  #pending: Pending[] = [];
  #writing: Promise<void> | null = null;
  #lazy: NodeJS.Timeout | undefined;
  #closed = false;
  /** A write failed: the store may hold records the tree does not (read them before the next batch). */
  needsResync = false;
  /** Batches and records written (for metrics and benchmarks). */
  batches = 0;
  records = 0;

  constructor(store: LedgerStore, tree: MerkleTree, maxBatch: number, between: BetweenBatches) {
    this.#store = store;
    this.#tree = tree;
    this.#maxBatch = maxBatch;
    this.#between = between;
  }

  /** See `Ledger.append`. */
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
      this.kick();
    });
  }

  /** See `Ledger.note`: joins the next batch a durable append starts, or a timer's batch. */
  note(record: DecisionRecord): void {
    if (this.#closed) return;
    const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
    if (!Number.isFinite(time) || Object.hasOwn(record, 'index')) return;
    this.#pending.push({ record, time, resolve: () => {}, reject: () => {} });
    this.#lazy ??= setTimeout(() => {
      this.#lazy = undefined;
      if (this.#pending.length > 0) this.kick();
    }, NOTE_DELAY_MS);
    this.#lazy.unref?.();
  }

  /** Starts the writer loop unless it runs. */
  kick(): void {
    this.#writing ??= this.#pump();
  }

  /** Resolves once the writer loop has nothing left to do (including work started meanwhile). */
  async idle(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Stops taking appends and notes; the ones queued are written (kicked now). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#lazy);
    if (this.#pending.length > 0) this.kick();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        if (this.#between.due) await this.#between.run();
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
      if (this.needsResync) {
        try {
          await catchUp(this.#store, this.#tree);
          this.needsResync = false;
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
        let entry: LedgerEntry;
        try {
          entry = toEntry(base + entries.length, p.record, p.time);
        } catch (error) {
          p.reject(new TypeError('record is not representable as canonical JSON', { cause: error }));
          continue;
        }
        entries.push(entry);
        accepted.push(p);
      }
      if (entries.length === 0) return;
      try {
        await this.#store.appendBatch(entries);
      } catch (error) {
        this.needsResync = true;
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
      this.#between.committed();
      return;
    }
  }
}
