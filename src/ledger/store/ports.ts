/**
 * The ledger storage port (DESIGN §1 and §8; STYLE habit 7): one interface, an adapter per backend
 * (memory, SQLite, PostgreSQL) and one contract suite (`contract.ts`) run against each.
 *
 * The store keeps the log as written by one `Ledger`: records numbered 0, 1, 2, … without gaps, each with
 * its canonical text (RFC 8785) and its RFC 9162 leaf hash, plus the signed checkpoints. It does not
 * compute hashes or check signatures: the `Ledger` does, and checks what it reads back on open.
 *
 * Times are epoch milliseconds (integers). Lookups resolve `null` when nothing matches. Caller mistakes
 * (wrong types, bad ranges, bad limits) are `TypeError`s or `RangeError`s. Adapters never log.
 */

/** One stored record: what the `Ledger` appends, and what reads return. */
export interface LedgerEntry {
  /** Position in the log, from 0. */
  readonly index: number;
  /** RFC 9162 leaf hash of the UTF-8 bytes of `canonical` (32 bytes). */
  readonly leafHash: Uint8Array;
  /** The record (with its `index` member) in RFC 8785 canonical JSON. */
  readonly canonical: string;
  /** The record's `time`, epoch milliseconds. */
  readonly time: number;
  /** Query columns, copied out of the record (`person` is the person's `sub`); `null` when absent. */
  readonly txn: string | null;
  readonly person: string | null;
  readonly caller: string | null;
  readonly action: string | null;
  readonly decision: string | null;
}

/** A record's stored leaf hash and canonical text. */
export interface LeafData {
  readonly index: number;
  readonly leafHash: Uint8Array;
  readonly canonical: string;
}

/** A signed checkpoint (C2SP signed note) of the tree at `size` records. */
export interface StoredCheckpoint {
  readonly size: number;
  /** The RFC 9162 root hash at `size` (32 bytes). */
  readonly root: Uint8Array;
  /** The signed note, as signed. */
  readonly note: string;
  /** When it was written, epoch milliseconds. */
  readonly time: number;
}

/** Records matching every given field; `since` inclusive, `until` exclusive (epoch ms); by index ascending. */
export interface LedgerQuery {
  readonly txn?: string;
  readonly person?: string;
  readonly caller?: string;
  readonly action?: string;
  readonly decision?: string;
  readonly since?: number;
  readonly until?: number;
  /** 1..1000. */
  readonly limit: number;
  /** Keyset cursor: only records with an index greater than this (the `next` of the previous page). */
  readonly after?: number;
}

export interface LedgerPage {
  readonly items: LedgerEntry[];
  /** The cursor of the next page (the last index returned), `null` on the last page. */
  readonly next: number | null;
}

export interface LedgerStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /**
   * Appends the entries in one transaction and resolves once that transaction is durable (see each
   * adapter for what durable means). The indices must continue the stored log exactly (`count()`,
   * `count() + 1`, …): otherwise nothing is written and it rejects with `LedgerConflictError` (another
   * writer appended first). All or nothing.
   */
  appendBatch(entries: readonly LedgerEntry[]): Promise<void>;
  /** The leaf hashes of the records `from` (inclusive) to `to` (exclusive), in index order. */
  leafHashes(from: number, to: number): Promise<Uint8Array[]>;
  /** The records `from` (inclusive) to `to` (exclusive), in index order. */
  entries(from: number, to: number): Promise<LedgerEntry[]>;
  /**
   * For verification at open: the records `from` (inclusive) to `to` (exclusive) in index order, each as
   * its stored leaf hash and canonical text only (lean rows: open reads every record).
   */
  leafData(from: number, to: number): Promise<LeafData[]>;
  /**
   * Optional accelerator for open: checks, off the caller's thread, that each record `from` (inclusive) to
   * `to` (exclusive) is present and that its text hashes (RFC 9162 leaf hash of its UTF-8) to its stored leaf
   * hash. Resolves the first index that fails, or `null`.
   */
  verifyLeaves?(from: number, to: number): Promise<number | null>;
  getRecord(index: number): Promise<LedgerEntry | null>;
  /** Stores a checkpoint; storing the same size again with the same root is a no-op, another root a conflict. */
  putCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  /** The checkpoint of the largest size, or `null` when none was stored. */
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  checkpointAt(size: number): Promise<StoredCheckpoint | null>;
  /** Checkpoints by size ascending, sizes greater than `after` (default: from the first), at most `limit` (1..1000). */
  checkpoints(query: { after?: number; limit: number }): Promise<StoredCheckpoint[]>;
  query(query: LedgerQuery): Promise<LedgerPage>;
  /** The number of records (the next index). */
  count(): Promise<number>;
  /** Idempotent. Waits for the write in flight; later calls reject. */
  close(): Promise<void>;
}

/** The query columns of a record, as the adapters index them. */
export const QUERY_FIELDS = ['txn', 'person', 'caller', 'action', 'decision'] as const;
