import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { servingOne } from '../../../core/load.ts';
import { type Checkpointer, startCheckpointer, WAL_BOUND_PAGES } from '../../../sql/sqlite-checkpointer.ts';
import { openSqliteFile } from '../../../sql/sqlite-open.ts';
import { LedgerClosedError, LedgerConflictError } from '../../errors.ts';
import { SQLITE_LEDGER_MIGRATIONS } from '../migrations.ts';
import type {
  LeafData,
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  LedgerStore,
  StoredCheckpoint,
} from '../ports.ts';
import { CHECKPOINTS, queryPage, querySql, RECORDS } from '../rows.ts';
import { checkBatch, checkCheckpoint, checkLimit, checkQuery, index, range } from '../validate.ts';
import { failure, LEDGER_JOURNAL_SIZE_LIMIT, LEDGER_WAL_CHECKPOINT_MS, writerOps } from './writer-ops.ts';
import {
  NULL_START,
  type PackedBatch,
  TEXT_COLUMNS,
  type WriterData,
  type WriterRequest,
  type WriterResponse,
} from './writer-protocol.ts';

export interface SqliteLedgerStoreOptions {
  /** The ledger file (created 0600 in a 0700 directory when missing). */
  path: string;
  /**
   * `full` (default): every acknowledged batch survives power loss and OS crashes (the WAL is fsynced at
   * each commit). `normal`: it survives the process crashing (the commit is in the OS page cache), but the
   * last commits before a power loss or OS crash may be lost; the file stays consistent either way.
   */
  synchronous?: 'full' | 'normal';
  /** How long a writer waits for another process's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** How often the checkpointer thread copies the WAL into the database file (default 250 ms). */
  walCheckpointMs?: number;
  /**
   * The WAL's bound in pages: an append's COMMIT that finds the WAL this long checkpoints it itself (default
   * `WAL_BOUND_PAGES`, 64 MiB; see src/sql/sqlite-checkpointer.ts). Tests set a small one.
   */
  walBoundPages?: number;
}

/**
 * Opens the SQLite ledger store: WAL mode, migrations applied, reads on this thread's connection and
 * writes on a worker thread's connection (see `sqlite-writer.ts`), one transaction per `appendBatch`.
 *
 * Durability: `appendBatch` and `putCheckpoint` resolve only after their COMMIT returned on the writer
 * connection; with `synchronous: 'full'` that COMMIT has fsynced the WAL, so the batch survives a process
 * kill, an OS crash and a power loss (on storage that honours fsync).
 *
 * WAL checkpoints (copying the WAL into the database file, with its fsync) run on a thread of their own
 * (src/sql/sqlite-checkpointer.ts), not inside whichever append's COMMIT pushed the WAL past 1,000 pages:
 * that COMMIT ran on the main thread at one request at a time, and held up the writer thread's batches
 * otherwise. An append checkpoints only when the WAL reaches its bound (`walBoundPages`): under appends
 * that never pause the thread's checkpoints never catch up, and only a complete one lets the WAL start over.
 */
export async function openSqliteLedgerStore(options: SqliteLedgerStoreOptions): Promise<LedgerStore> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { path } = options;
  if (typeof path !== 'string' || path.length === 0 || path === ':memory:')
    throw new TypeError('path must be a file path');
  const synchronous = options.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal')
    throw new TypeError('synchronous must be full or normal');
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    throw new TypeError('busyTimeoutMs must be a non-negative integer');
  const walCheckpointMs = options.walCheckpointMs ?? LEDGER_WAL_CHECKPOINT_MS;
  if (!Number.isSafeInteger(walCheckpointMs) || walCheckpointMs < 1)
    throw new TypeError('walCheckpointMs must be a positive integer');
  const walBoundPages = options.walBoundPages ?? WAL_BOUND_PAGES;
  if (!Number.isSafeInteger(walBoundPages) || walBoundPages < 1)
    throw new TypeError('walBoundPages must be a positive integer');

  const db = openSqliteFile(path, {
    synchronous,
    busyTimeoutMs,
    migrations: SQLITE_LEDGER_MIGRATIONS,
    now: Math.floor(Date.now() / 1000),
    journalSizeLimit: LEDGER_JOURNAL_SIZE_LIMIT,
    autoCheckpointPages: walBoundPages,
  });
  // Built JavaScript (dist/, as installed from the package) runs the writer's built file; the repository its source.
  const writer = import.meta.url.endsWith('.js') ? './sqlite-writer.js' : './sqlite-writer.ts';
  const worker = new Worker(new URL(writer, import.meta.url), {
    workerData: { path, synchronous, busyTimeoutMs, walBoundPages } satisfies WriterData,
  });
  const store = new SqliteLedgerStore(db, worker, startCheckpointer(path, walCheckpointMs, busyTimeoutMs));
  try {
    await store.ready;
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}

interface Waiter {
  resolve: (value?: number | null) => void;
  reject: (error: unknown) => void;
}

class SqliteLedgerStore implements LedgerStore {
  readonly kind = 'sqlite';
  readonly ready: Promise<void>;
  readonly #db: DatabaseSync;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiter>();
  readonly #s: Record<string, StatementSync>;
  readonly #queries = new Map<string, StatementSync>();
  #nextId = 1;
  #closing: Promise<void> | null = null;
  #failed: Error | null = null;

  readonly #checkpointer: Checkpointer;

  constructor(db: DatabaseSync, worker: Worker, checkpointer: Checkpointer) {
    this.#db = db;
    this.#worker = worker;
    this.#checkpointer = checkpointer;
    const s = (sql: string) => db.prepare(sql);
    this.#s = {
      leafHashes: s('SELECT leaf_hash FROM ledger_records WHERE idx >= ? AND idx < ? ORDER BY idx'),
      entries: s(`SELECT ${RECORDS.columns} FROM ledger_records WHERE idx >= ? AND idx < ? ORDER BY idx`),
      leafData: s(
        'SELECT idx, leaf_hash, canonical FROM ledger_records WHERE idx >= ? AND idx < ? ORDER BY idx',
      ),
      get: s(`SELECT ${RECORDS.columns} FROM ledger_records WHERE idx = ?`),
      latest: s('SELECT size, root, note, time FROM ledger_checkpoints ORDER BY size DESC LIMIT 1'),
      at: s('SELECT size, root, note, time FROM ledger_checkpoints WHERE size = ?'),
      list: s('SELECT size, root, note, time FROM ledger_checkpoints WHERE size > ? ORDER BY size LIMIT ?'),
      count: s('SELECT coalesce(max(idx) + 1, 0) AS n FROM ledger_records'),
    };
    this.#s['leafHashes']!.setReturnArrays(true);
    this.#s['leafData']!.setReturnArrays(true);
    this.ready = new Promise<void>((resolve, reject) =>
      this.#waiting.set(0, { resolve: () => resolve(), reject }),
    );
    worker.on('message', (res: WriterResponse) => {
      const waiter = this.#waiting.get(res.id);
      if (!waiter) return;
      this.#waiting.delete(res.id);
      if (this.#waiting.size === 0) worker.unref();
      if (res.ok) waiter.resolve(res.value);
      else waiter.reject(errorOf(res.error));
    });
    const fail = (error: Error) => {
      this.#failed = error;
      for (const w of this.#waiting.values()) w.reject(error);
      this.#waiting.clear();
    };
    worker.on('error', (error) => fail(error));
    worker.on('exit', () => fail(new LedgerClosedError('the ledger writer thread has exited')));
  }

  /** The writer's operations on this thread's connection (prepared on first use). */
  #inline(req: WriterRequest): WriterResponse {
    this.#ops ??= writerOps(this.#db);
    try {
      return this.#ops(req);
    } catch (error) {
      return failure(req.id, error);
    }
  }
  #ops: ((req: WriterRequest) => WriterResponse) | undefined;

  #open(): void {
    if (this.#closing) throw new LedgerClosedError('the ledger store is closed');
  }

  #send(req: WriterRequest, transfer?: ArrayBuffer[]): Promise<number | null | undefined> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise<number | null | undefined>((resolve, reject) => {
      if (this.#waiting.size === 0) this.#worker.ref();
      this.#waiting.set(req.id, { resolve, reject });
      this.#worker.postMessage(req, transfer);
    });
  }

  async appendBatch(entries: readonly LedgerEntry[]): Promise<void> {
    this.#open();
    const first = checkBatch(entries);
    const batch = pack(first, entries);
    if (servingOne() && this.#waiting.size === 0 && !this.#failed) {
      // One request at a time: the batch is committed here, on this thread's connection. Nothing else is
      // waiting for the event loop, and the writer thread's round trip (two thread wake-ups) would only add
      // to this request's latency. Same statements, same transaction, same durability (the COMMIT fsyncs).
      const res = this.#inline({ id: this.#nextId++, op: 'append', ...batch });
      if (!res.ok) throw errorOf(res.error);
      return;
    }
    await this.#send({ id: this.#nextId++, op: 'append', ...batch }, [
      batch.hashes.buffer as ArrayBuffer,
      batch.times.buffer as ArrayBuffer,
      batch.text.buffer as ArrayBuffer,
      batch.bounds.buffer as ArrayBuffer,
    ]);
  }

  async leafHashes(from: number, to: number): Promise<Uint8Array[]> {
    this.#open();
    range(from, to);
    return (this.#s['leafHashes']!.all(from, to) as unknown as [Uint8Array][]).map((row) => row[0]);
  }

  async entries(from: number, to: number): Promise<LedgerEntry[]> {
    this.#open();
    range(from, to);
    return this.#s['entries']!.all(from, to).map(RECORDS.fromRow);
  }

  async leafData(from: number, to: number): Promise<LeafData[]> {
    this.#open();
    range(from, to);
    return (this.#s['leafData']!.all(from, to) as unknown as [number, Uint8Array, string][]).map(
      ([index, leafHash, canonical]) => ({ index, leafHash, canonical }),
    );
  }

  /** On the writer thread, so the main thread meanwhile rebuilds the tree. */
  async verifyLeaves(from: number, to: number): Promise<number | null> {
    this.#open();
    range(from, to);
    return (await this.#send({ id: this.#nextId++, op: 'verify', from, to })) ?? null;
  }

  async getRecord(i: number): Promise<LedgerEntry | null> {
    this.#open();
    index(i, 'index');
    const row = this.#s['get']!.get(i);
    return row ? RECORDS.fromRow(row) : null;
  }

  async putCheckpoint(cp: StoredCheckpoint): Promise<void> {
    this.#open();
    checkCheckpoint(cp);
    const root = Uint8Array.from(cp.root);
    await this.#send({
      id: this.#nextId++,
      op: 'checkpoint',
      size: cp.size,
      root,
      note: cp.note,
      time: cp.time,
    });
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    this.#open();
    const row = this.#s['latest']!.get();
    return row ? CHECKPOINTS.fromRow(row) : null;
  }

  async checkpointAt(size: number): Promise<StoredCheckpoint | null> {
    this.#open();
    index(size, 'size');
    const row = this.#s['at']!.get(size);
    return row ? CHECKPOINTS.fromRow(row) : null;
  }

  async checkpoints(query: { after?: number; limit: number }): Promise<StoredCheckpoint[]> {
    this.#open();
    const limit = checkLimit(query?.limit);
    const after = query.after === undefined ? -1 : index(query.after, 'after');
    return this.#s['list']!.all(after, limit).map(CHECKPOINTS.fromRow);
  }

  async query(q: LedgerQuery): Promise<LedgerPage> {
    this.#open();
    checkQuery(q);
    const { text, values } = querySql(q, () => '?');
    let stmt = this.#queries.get(text);
    if (!stmt) {
      stmt = this.#db.prepare(text);
      this.#queries.set(text, stmt);
    }
    return queryPage(stmt.all(...values).map(RECORDS.fromRow), q.limit);
  }

  async count(): Promise<number> {
    this.#open();
    return Number(this.#s['count']!.get()!['n']);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (!this.#failed) await this.#send({ id: this.#nextId++, op: 'close' });
      } finally {
        await this.#worker.terminate();
        // After the writer: its last commits are in the WAL the checkpointer copies once more.
        await this.#checkpointer.close();
        if (this.#db.isOpen) this.#db.close();
      }
    })();
    return this.#closing;
  }
}

/** The error a failed writer request rejects with (a conflict is a `LedgerConflictError`). */
function errorOf(error: { message: string; conflict: boolean; code?: string; errcode?: number }): Error {
  const { message, conflict, code, errcode } = error;
  return conflict ? new LedgerConflictError(message) : Object.assign(new Error(message), { code, errcode });
}

const encoder = new TextEncoder();

/** Packs a batch for the writer thread: one UTF-8 buffer for all text, offsets, hashes and times. */
function pack(first: number, entries: readonly LedgerEntry[]): PackedBatch {
  const n = entries.length;
  const hashes = new Uint8Array(n * 32);
  const times = new Float64Array(n);
  const bounds = new Uint32Array(n * TEXT_COLUMNS.length * 2);
  let capacity = 0;
  for (const e of entries) {
    capacity += e.canonical.length;
    for (let c = 1; c < TEXT_COLUMNS.length; c++)
      capacity += (e[TEXT_COLUMNS[c]!] as string | null)?.length ?? 0;
  }
  // Sized for ASCII (the usual case), grown when a value needs more; its own ArrayBuffer, not zero-filled,
  // transferred whole (moved, not copied).
  let text: Uint8Array = Buffer.allocUnsafeSlow(capacity + 256);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    hashes.set(e.leafHash, i * 32);
    times[i] = e.time;
    for (let c = 0; c < TEXT_COLUMNS.length; c++) {
      const value = e[TEXT_COLUMNS[c]!] as string | null;
      const slot = 2 * (i * TEXT_COLUMNS.length + c);
      if (value === null) {
        bounds[slot] = NULL_START;
        continue;
      }
      let done = encoder.encodeInto(value, text.subarray(at));
      if (done.read < value.length) {
        // Non-ASCII text outgrew the buffer: grow (UTF-8 needs at most 3 bytes per code unit) and redo it.
        const grown = Buffer.allocUnsafeSlow(Math.max(2 * text.length, at + value.length * 3));
        grown.set(text.subarray(0, at));
        text = grown;
        done = encoder.encodeInto(value, text.subarray(at));
      }
      bounds[slot] = at;
      at += done.written;
      bounds[slot + 1] = at;
    }
  }
  return { first, count: n, hashes, times, text, bounds };
}
