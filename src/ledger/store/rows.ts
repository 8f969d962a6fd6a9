/**
 * The ledger tables as the SQL adapters (SQLite, PostgreSQL) read them: the columns, a row mapped back to
 * an entry or a checkpoint, and the SELECT of a query.
 */
import type { LedgerEntry, LedgerQuery, StoredCheckpoint } from './ports.ts';
import { QUERY_FIELDS } from './ports.ts';
import { bytes } from './validate.ts';

export type Row = Record<string, unknown>;

/** The columns of `ledger_records`, in the order `entryFromRow` reads (and the writers insert). */
export const ENTRY_COLUMNS = 'idx, leaf_hash, canonical, time, txn, person, caller, action, decision';

export function entryFromRow(row: Row): LedgerEntry {
  return {
    index: Number(row['idx']),
    leafHash: bytes(row['leaf_hash'] as Uint8Array),
    canonical: row['canonical'] as string,
    time: Number(row['time']),
    txn: row['txn'] as string | null,
    person: row['person'] as string | null,
    caller: row['caller'] as string | null,
    action: row['action'] as string | null,
    decision: row['decision'] as string | null,
  };
}

export function checkpointFromRow(row: Row): StoredCheckpoint {
  return {
    size: Number(row['size']),
    root: bytes(row['root'] as Uint8Array),
    note: row['note'] as string,
    time: Number(row['time']),
  };
}

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
  const text = `SELECT ${ENTRY_COLUMNS} FROM ledger_records${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY idx LIMIT ${param(values.length)}`;
  return { text, values };
}

/** A page of entries from the rows of `querySql` (one more than `limit` means there is a next page). */
export function queryPage(rows: LedgerEntry[], limit: number): { items: LedgerEntry[]; next: number | null } {
  if (rows.length <= limit) return { items: rows, next: null };
  rows.length = limit;
  return { items: rows, next: rows.at(-1)!.index };
}
