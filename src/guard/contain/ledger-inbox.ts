/**
 * The hand-off of containment records to the ledger (table `ledger_inbox`). The control plane runs
 * containments but does not write the ledger — the gateway's ledger role does (src/runtime/ledger-role.ts).
 * So each step's record is enqueued here, in the same guard-store transaction as the step's state, and the
 * ledger's writer drains the inbox into the ledger (drain-ledger-inbox.ts): a row is claimed for a while,
 * appended durably, then deleted. A writer that dies between append and delete leaves the row to be
 * appended again once its claim expires: at least once, each copy with the same record `id`.
 */
import type { DecisionRecord } from '../../ledger/decision-log.ts';
import type { GuardSql } from '../store/guard-sql.ts';

export interface InboxRow {
  readonly id: number;
  readonly record: DecisionRecord;
}

export async function enqueueLedgerRecord(tx: GuardSql, record: DecisionRecord): Promise<void> {
  await tx.run('INSERT INTO ledger_inbox (record, claimed_until) VALUES ($1, 0)', [JSON.stringify(record)]);
}

/**
 * Claims up to `limit` rows nobody holds (or whose claim expired) for `owner` until `untilMs`; by id. The
 * outer condition is checked again on each row once it is locked (PostgreSQL re-evaluates it after a
 * concurrent update), so two writers never both claim a row.
 */
export async function claimLedgerRecords(
  sql: GuardSql,
  owner: string,
  nowMs: number,
  untilMs: number,
  limit: number,
): Promise<InboxRow[]> {
  const rows = await sql.all(
    `UPDATE ledger_inbox SET claimed_by = $1, claimed_until = $2
     WHERE claimed_until < $3 AND id IN (SELECT id FROM ledger_inbox WHERE claimed_until < $3 ORDER BY id LIMIT $4)
     RETURNING id, record`,
    [owner, untilMs, nowMs, limit],
  );
  return rows
    .map((r) => ({ id: Number(r['id']), record: JSON.parse(String(r['record'])) as DecisionRecord }))
    .sort((a, b) => a.id - b.id);
}

/** Removes a row once its record is durable in the ledger (only while `owner` holds it). */
export async function removeLedgerRecord(sql: GuardSql, id: number, owner: string): Promise<void> {
  await sql.run('DELETE FROM ledger_inbox WHERE id = $1 AND claimed_by = $2', [id, owner]);
}

/** How many records wait (for readiness and tests). */
export async function pendingLedgerRecords(sql: GuardSql): Promise<number> {
  const row = await sql.one('SELECT COUNT(*) AS n FROM ledger_inbox');
  return Number(row?.['n'] ?? 0);
}
