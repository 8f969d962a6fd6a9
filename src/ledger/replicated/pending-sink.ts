/**
 * The sequencer side of the replicated ledger (DESIGN §8, Tessera's split): what each gateway replica uses
 * as its `DecisionSink`. A record is durable once its row is in `ledger_pending` — no index, no tree, an
 * identity column for the order — so replicas never contend: there is no conflict to retry and no call
 * refused because another replica wrote first. The integrator (integrator.ts) later gives each pending
 * row its index, in one transaction with the tiles and the checkpoint.
 *
 * Group commit as in the single writer (append.ts): appends arriving while a batch is being written wait
 * for the next batch; a batch is ONE INSERT (its own transaction, `synchronous_commit = on`) and every
 * `append` of it resolves once the server acknowledged the COMMIT. `note` (outcomes) rides with the next
 * batch or a timer's, and is retried once with the next batch when its own write failed — an outcome is
 * lost only when the store stays down.
 */
import type pg from 'pg';
import { canonicalRecord } from '../canonical-record.ts';
import type { DecisionLog, DecisionRecord } from '../decision-log.ts';
import { LedgerClosedError, LedgerWriteError } from '../errors.ts';

interface Pending {
  readonly text: string;
  readonly time: number;
  readonly resolve: (seq: number) => void;
  readonly reject: (error: unknown) => void;
  /** A noted record (nothing waits): kept for one more batch when its write failed. */
  readonly noted: boolean;
  tries: number;
}

const INSERT = `INSERT INTO ledger_pending (record, time, replica)
  SELECT r, t, $3 FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(r, t, o) ORDER BY o
  RETURNING seq`;

/** How long a noted record waits for a durable append to ride with before it is written alone. */
const NOTE_DELAY_MS = 50;
/** Noted records kept for a retry at most (beyond, the oldest are dropped and counted). */
const MAX_NOTE_BACKLOG = 100_000;

export interface PendingSinkOptions {
  /** This replica's name, stored with its rows (for operators; the order is the identity column's). */
  readonly replica: string;
  /** The most records in one INSERT (default 4096). */
  readonly maxBatch?: number;
}

export class PendingSink implements DecisionLog {
  readonly #pool: pg.Pool;
  readonly #replica: string;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #writing: Promise<void> | null = null;
  #lazy: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Batches and records written, noted records dropped after failed writes (metrics, benchmarks). */
  batches = 0;
  records = 0;
  droppedNotes = 0;

  /** The sink writes `pool` (whose search_path is the ledger schema); it does not close it. */
  constructor(pool: pg.Pool, options: PendingSinkOptions) {
    this.#pool = pool;
    this.#replica = options.replica;
    this.#maxBatch = options.maxBatch ?? 4096;
  }

  /** Resolves (the row's sequence number) once the record is durable; rejects `LedgerWriteError` otherwise. */
  append(record: DecisionRecord): Promise<number> {
    if (this.#closed) return Promise.reject(new LedgerClosedError('the ledger sink is closed'));
    let checked: { text: string; time: number };
    try {
      checked = check(record);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ ...checked, resolve, reject, noted: false, tries: 0 });
      this.#kick();
    });
  }

  /** Records what nothing waits for (an outcome): with the next batch, or a timer's. */
  note(record: DecisionRecord): void {
    if (this.#closed) return;
    let checked: { text: string; time: number };
    try {
      checked = check(record);
    } catch {
      return;
    }
    this.#pending.push({ ...checked, resolve: () => {}, reject: () => {}, noted: true, tries: 0 });
    this.#lazy ??= setTimeout(() => {
      this.#lazy = undefined;
      if (this.#pending.length > 0) this.#kick();
    }, NOTE_DELAY_MS);
    this.#lazy.unref?.();
  }

  #kick(): void {
    this.#writing ??= this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatch);
        await this.#write(batch);
      }
    } finally {
      this.#writing = null;
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    let seqs: number[];
    try {
      const { rows } = await this.#pool.query<{ seq: number }>(INSERT, [
        batch.map((p) => p.text),
        batch.map((p) => p.time),
        this.#replica,
      ]);
      seqs = rows.map((r) => Number(r.seq));
    } catch (error) {
      const failure = new LedgerWriteError('the ledger store could not make the record durable', {
        cause: error,
      });
      for (const p of batch) p.reject(failure);
      this.#keepNotes(batch);
      return;
    }
    this.batches++;
    this.records += batch.length;
    batch.forEach((p, i) => {
      p.resolve(seqs[i]!);
    });
  }

  /** Noted records of a failed batch wait for the next one (once), unless the sink is closing. */
  #keepNotes(batch: Pending[]): void {
    const retry = batch.filter((p) => p.noted && p.tries++ < 1 && !this.#closed);
    this.droppedNotes += batch.filter((p) => p.noted).length - retry.length;
    if (retry.length === 0) return;
    this.#pending.unshift(...retry);
    if (this.#pending.length > MAX_NOTE_BACKLOG) {
      const drop = this.#pending.length - MAX_NOTE_BACKLOG;
      this.#pending.splice(0, drop);
      this.droppedNotes += drop;
    }
  }

  /** Resolves once nothing is being written. */
  async idle(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Stops taking records; the queued ones are written. Does not close the pool. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearTimeout(this.#lazy);
      if (this.#pending.length > 0) this.#kick();
      await this.idle();
    })();
    return this.#closing;
  }
}

/** The record's JSON and time; a record the integrator could not number is refused here, not later. */
function check(record: DecisionRecord): { text: string; time: number } {
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    throw new TypeError('record must be an object');
  if (Object.hasOwn(record, 'index'))
    throw new TypeError('record must not carry an index: the ledger numbers records');
  const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
  if (!Number.isFinite(time)) throw new TypeError('record time must be an ISO 8601 date-time');
  try {
    canonicalRecord(record, 0);
  } catch (error) {
    throw new TypeError('record is not representable as canonical JSON', { cause: error });
  }
  return { text: JSON.stringify(record), time };
}
