/**
 * The SQLite ledger's write operations on one connection: each batch or checkpoint is one
 * `BEGIN IMMEDIATE … COMMIT`. The writer thread (`sqlite-writer.ts`) runs them for every request it is
 * sent; the store runs an append on its own connection, inline, when the process serves one request at a
 * time (see `SqliteLedgerStore.appendBatch`). Both connections write the same file under SQLite's lock, one
 * batch at a time (the ledger's group commit never has two in flight).
 */
import type { DatabaseSync } from 'node:sqlite';
import { recordLeafHash } from '../../canonical-record.ts';
import { RECORDS } from '../rows.ts';
import { NULL_START, TEXT_COLUMNS, type WriterRequest, type WriterResponse } from './writer-protocol.ts';

/** The WAL is truncated to 64 MiB after a checkpoint. */
export const LEDGER_JOURNAL_SIZE_LIMIT = 64 << 20;
/** How often the checkpointer thread copies the WAL into the database file. */
export const LEDGER_WAL_CHECKPOINT_MS = 250;

/** Prepares the statements on `db` and answers one request at a time (a throw is the request's failure). */
export function writerOps(db: DatabaseSync): (req: WriterRequest) => WriterResponse {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const next = db.prepare('SELECT coalesce(max(idx) + 1, 0) AS n FROM ledger_records');
  const insert = db.prepare(
    // Text arrives as UTF-8 bytes; CAST makes SQLite store them as TEXT without a round trip through JS strings.
    `INSERT INTO ledger_records (${RECORDS.columns})
     VALUES (?, ?, CAST(? AS TEXT), ?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))`,
  );
  const verifyRows = db.prepare(
    'SELECT idx, leaf_hash, canonical FROM ledger_records WHERE idx >= ? AND idx < ? ORDER BY idx',
  );
  verifyRows.setReturnArrays(true);
  const rootAt = db.prepare('SELECT root FROM ledger_checkpoints WHERE size = ?');
  const putCheckpoint = db.prepare(
    'INSERT INTO ledger_checkpoints (size, root, note, time) VALUES (?, ?, ?, ?)',
  );

  const transaction = (run: () => void): void => {
    begin.run();
    try {
      run();
      commit.run();
    } catch (error) {
      if (db.isTransaction) rollback.run();
      throw error;
    }
  };

  return (req) => {
    switch (req.op) {
      case 'append': {
        const { first, count, hashes, times, text, bounds } = req;
        const column = (i: number, c: number): Uint8Array | null => {
          const at = 2 * (i * TEXT_COLUMNS.length + c);
          const start = bounds[at]!;
          return start === NULL_START ? null : text.subarray(start, bounds[at + 1]!);
        };
        transaction(() => {
          const n = Number(next.get()!['n']);
          if (n !== first) throw conflict(`batch starts at ${first}, the log has ${n} records`);
          for (let i = 0; i < count; i++) {
            insert.run(
              first + i,
              hashes.subarray(i * 32, i * 32 + 32),
              column(i, 0),
              times[i]!,
              column(i, 1),
              column(i, 2),
              column(i, 3),
              column(i, 4),
              column(i, 5),
            );
          }
        });
        return { id: req.id, ok: true };
      }
      case 'checkpoint': {
        transaction(() => {
          const known = rootAt.get(req.size)?.['root'] as Uint8Array | undefined;
          if (known) {
            if (Buffer.compare(known, req.root) !== 0)
              throw conflict(`a checkpoint of size ${req.size} with another root is stored`);
            return;
          }
          putCheckpoint.run(req.size, req.root, req.note, req.time);
        });
        return { id: req.id, ok: true };
      }
      case 'verify': {
        let expected = req.from;
        for (const row of verifyRows.iterate(req.from, req.to) as unknown as [number, Uint8Array, string][]) {
          const [idx, stored, canonical] = row;
          if (idx !== expected || Buffer.compare(recordLeafHash(canonical), stored) !== 0)
            return { id: req.id, ok: true, value: expected };
          expected++;
        }
        return { id: req.id, ok: true, value: expected === req.to ? null : expected };
      }
      case 'close':
        db.close();
        return { id: req.id, ok: true };
    }
  };
}

/** A write that found the log not as the batch expected (another writer, or a lost reply). */
export function conflict(message: string): Error {
  return Object.assign(new Error(message), { conflict: true });
}

/** The answer for a request that threw: what crosses the thread boundary of an error. */
export function failure(id: number, error: unknown): WriterResponse {
  const e = error as { message?: unknown; code?: unknown; errcode?: unknown; conflict?: unknown };
  return {
    id,
    ok: false,
    error: {
      message: String(e?.message ?? error),
      conflict: e?.conflict === true,
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      ...(typeof e?.errcode === 'number' ? { errcode: e.errcode } : {}),
    },
  };
}
