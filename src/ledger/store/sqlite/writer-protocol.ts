/**
 * Messages between the SQLite ledger store and its writer thread. A batch travels packed: every text
 * column of every record as UTF-8 in one buffer, with offsets, plus the leaf hashes and times, all
 * transferred (moved, not copied) to the writer, which binds the bytes straight into SQLite.
 */

/** What the writer thread is started with (its `workerData`). */
export interface WriterData {
  readonly path: string;
  readonly synchronous: 'full' | 'normal';
  readonly busyTimeoutMs: number;
  /** The WAL's bound in pages (`wal_autocheckpoint` on the writer's connection). */
  readonly walBoundPages: number;
}

/** Text columns per record, in this order, in `PackedBatch.bounds`. */
export const TEXT_COLUMNS = ['canonical', 'txn', 'person', 'caller', 'action', 'decision'] as const;

export interface PackedBatch {
  readonly first: number;
  readonly count: number;
  /** The leaf hashes, 32 bytes each, end to end. */
  readonly hashes: Uint8Array;
  /** Epoch ms per record. */
  readonly times: Float64Array;
  /** UTF-8 of every text column of every record, end to end. */
  readonly text: Uint8Array;
  /**
   * For record i and column c (see `TEXT_COLUMNS`), `bounds[2 * (i * 6 + c)]` is the start in `text` and the
   * next value the end; a start of 0xFFFFFFFF marks a null.
   */
  readonly bounds: Uint32Array;
}

export const NULL_START = 0xffffffff;

export type WriterRequest =
  | ({ id: number; op: 'append' } & PackedBatch)
  | { id: number; op: 'checkpoint'; size: number; root: Uint8Array; note: string; time: number }
  | { id: number; op: 'verify'; from: number; to: number }
  | { id: number; op: 'close' };

export type WriterResponse =
  | { id: number; ok: true; value?: number | null }
  | { id: number; ok: false; error: { message: string; conflict: boolean; code?: string; errcode?: number } };
