/**
 * The ledger's write path: the queue of pending appends, the single writer loop (the pump) and group
 * commit. Records arriving while a batch is being written wait for the next batch; each batch is one
 * store transaction, and each `append` resolves (with the record's index) only once its batch is durable.
 *
 * Between batches the loop runs whatever the `BetweenBatches` hook says is due (the checkpointer's next
 * checkpoint), so store writes never overlap. After a failed write it reads what the store holds beyond
 * the tree (`catchUp`) before the next batch: another writer's records, or a batch whose reply was lost.
 */
import { servingOne } from '../core/load.ts';
import type { DecisionRecord } from './decision-log.ts';
import { LedgerClosedError, LedgerConflictError, LedgerWriteError } from './errors.ts';
import type { MerkleTree } from './merkle.ts';
import { catchUp } from './open-verify.ts';
import { entryAt, type PreparedRecord, prepareRecord } from './records.ts';
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
  /** The record's canonical text around its index, made when it was appended. */
  readonly prepared: PreparedRecord;
  readonly resolve: (index: number) => void;
  readonly reject: (error: unknown) => void;
}

/** A batch being written: its records, their entries, and its outcome (the store's error, or undefined). */
interface Flight {
  readonly batch: Pending[];
  readonly entries: LedgerEntry[];
  readonly attempt: number;
  readonly done: Promise<unknown>;
}

const CONFLICT_RETRIES = 3;
/** Bursts of fewer than twice this many records are never split (see `#take`). */
const SPLIT_MIN = 16;
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
    let prepared: PreparedRecord;
    try {
      // Now, in the caller's turn (often while an earlier batch is being written), not in the batch's.
      prepared = prepareRecord(record, time);
    } catch (error) {
      return Promise.reject(new TypeError('record is not representable as canonical JSON', { cause: error }));
    }
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ prepared, resolve, reject });
      this.kick();
    });
  }

  /** See `Ledger.note`: joins the next batch a durable append starts, or a timer's batch. */
  note(record: DecisionRecord): void {
    if (this.#closed) return;
    const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
    if (!Number.isFinite(time) || Object.hasOwn(record, 'index')) return;
    let prepared: PreparedRecord;
    try {
      prepared = prepareRecord(record, time);
    } catch {
      return;
    }
    this.#pending.push({ prepared, resolve: () => {}, reject: () => {} });
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
      let flight: Flight | null = null;
      for (;;) {
        if (flight === null) {
          if (this.#between.due) await this.#between.run();
          if (this.#pending.length === 0) break;
          const batch = this.#take(0);
          if (!(await this.#resynced(batch))) continue;
          flight = this.#send(batch, 0);
        }
        const error = await flight.done;
        if (error === undefined) flight = this.#committed(flight);
        else flight = await this.#failed(flight, error);
      }
    } finally {
      this.#writing = null;
    }
  }

  /**
   * The next batch: the records pending, up to `maxBatch` — but when the store writes on another thread
   * (the process serves several requests, src/core/load.ts) and `2 × SPLIT_MIN` or more are pending, no
   * more than half of those pending plus those just written. A burst (many appends in one turn, as a closed loop of appenders
   * makes them when their batch is answered) then settles into two batches of about equal size in turn:
   * one is written while the callers of the other make their next records, as the JSON-lines log's write
   * and fdatasync overlap. A steady stream takes everything pending, as before. Each batch still goes to
   * the store only once the one before it is durable.
   */
  #take(justWritten: number): Pending[] {
    let n = Math.min(this.#pending.length, this.#maxBatch);
    if (n >= 2 * SPLIT_MIN && !servingOne()) n = Math.min(n, Math.ceil((n + justWritten) / 2));
    const batch = n === this.#pending.length ? this.#pending : this.#pending.slice(0, n);
    this.#pending = batch === this.#pending ? [] : this.#pending.slice(n);
    return batch;
  }

  /** Reads what the store holds beyond the tree after a failed write; rejects the batch when it cannot. */
  async #resynced(batch: Pending[]): Promise<boolean> {
    if (!this.needsResync) return true;
    try {
      await catchUp(this.#store, this.#tree);
      this.needsResync = false;
      return true;
    } catch (error) {
      for (const p of batch)
        p.reject(new LedgerWriteError('the ledger store is unavailable', { cause: error }));
      return false;
    }
  }

  /** Starts one store transaction: each record's text at its index, its leaf hash. */
  #send(batch: Pending[], attempt: number): Flight {
    const base = this.#tree.size;
    const entries: LedgerEntry[] = batch.map((p, k) => entryAt(base + k, p.prepared));
    let done: Promise<unknown>;
    try {
      done = this.#store.appendBatch(entries).then(
        () => undefined,
        (error: unknown) => error ?? new Error('the store failed'),
      );
    } catch (error) {
      done = Promise.resolve(error ?? new Error('the store failed'));
    }
    return { batch, entries, attempt, done };
  }

  /**
   * A durable batch: into the tree; then, under load, the next batch goes to the store (its indices follow
   * this one's) before this batch's callers are answered, so the store writes while they carry on. At one
   * request at a time a store may commit in the caller's turn (the SQLite ledger does): the callers are
   * answered first, and the loop sends the next batch after them.
   */
  #committed(flight: Flight): Flight | null {
    const { batch, entries } = flight;
    for (const e of entries) this.#tree.append(e.leafHash);
    this.batches++;
    this.records += entries.length;
    this.#between.committed();
    const next =
      !this.#between.due && this.#pending.length > 0 && !servingOne()
        ? this.#send(this.#take(batch.length), 0)
        : null;
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(entries[i]!.index);
    return next;
  }

  /**
   * A failed write: the store may hold records the tree does not. A conflict (another writer appended
   * first) is retried after reading them; any other failure rejects the batch.
   */
  async #failed(flight: Flight, error: unknown): Promise<Flight | null> {
    this.needsResync = true;
    if (error instanceof LedgerConflictError && flight.attempt < CONFLICT_RETRIES) {
      if (!(await this.#resynced(flight.batch))) return null;
      return this.#send(flight.batch, flight.attempt + 1);
    }
    const failure =
      error instanceof LedgerClosedError ? error : new LedgerWriteError(undefined, { cause: error });
    for (const p of flight.batch) p.reject(failure);
    return null;
  }
}
