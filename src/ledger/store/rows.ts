/**
 * The ledger tables as the SQL adapters (SQLite, PostgreSQL) read them: the columns, a row mapped back to
 * an entry or a checkpoint, and the SELECT of a query.
 */
import { asIs, type Codec, int, recordTable } from '../../sql/record-table.ts';
import type { LedgerEntry, LedgerQuery, StoredCheckpoint } from './ports.ts';
import { QUERY_FIELDS } from './ports.ts';
import { bytes } from './validate.ts';

/** Byte columns arrive as a Buffer (SQLite, pg): read as a plain Uint8Array. */
const blob: Codec<Uint8Array> = { read: (value) => bytes(value as Uint8Array), write: (value) => value };

/** `ledger_records`: the columns in the order the writers insert them. */
export const RECORDS = recordTable<LedgerEntry>({
  index: ['idx', int],
  leafHash: ['leaf_hash', blob],
  canonical: ['canonical', asIs()],
  time: ['time', int],
  txn: ['txn', asIs()],
  person: ['person', asIs()],
  caller: ['caller', asIs()],
  action: ['action', asIs()],
  decision: ['decision', asIs()],
});

/** `ledger_checkpoints`. */
export const CHECKPOINTS = recordTable<StoredCheckpoint>({
  size: ['size', int],
  root: ['root', blob],
  note: ['note', asIs()],
  time: ['time', int],
});

/**
 * The SELECT of a (checked) query: the records matching every field given, by index, at most
 * `limit + 1` (one more tells whether there is a next page). `param(n)` writes the n-th (1-based)
 * placeholder: `?` for SQLite, `$n` for PostgreSQL.
 */
export function querySql(
  q: LedgerQuery,
  param: (n: number) => string,
): { text: string; values: (string | number)[] } {
  const where: string[] = [];
  const values: (string | number)[] = [];
  const on = (condition: string, value: string | number | undefined) => {
    if (value === undefined) return;
    values.push(value);
    where.push(`${condition} ${param(values.length)}`);
  };
  for (const f of QUERY_FIELDS) on(`${f} =`, q[f]);
  on('time >=', q.since);
  on('time <', q.until);
  on('idx >', q.after);
  values.push(q.limit + 1);
  const text = `SELECT ${RECORDS.columns} FROM ledger_records${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY idx LIMIT ${param(values.length)}`;
  return { text, values };
}

/** A page of entries from the rows of `querySql` (one more than `limit` means there is a next page). */
export function queryPage(rows: LedgerEntry[], limit: number): { items: LedgerEntry[]; next: number | null } {
  if (rows.length <= limit) return { items: rows, next: null };
  rows.length = limit;
  return { items: rows, next: rows.at(-1)!.index };
}
