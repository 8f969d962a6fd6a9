/**
 * The guard's change history (table `guard_changes`): every change of its durable state — a trust level
 * moved or pinned, a tool definition approved or quarantined, a breaker reset, a budget set — with when,
 * who (an agent id, `admin`, `gateway:<id>`), why, and a JSON detail. It is the answer to "why is this agent
 * at level 1" and the feed other processes poll to learn of changes made elsewhere (`since`).
 */
import type { GuardSql } from './guard-sql.ts';

export interface GuardChange {
  readonly id: number;
  /** Epoch seconds. */
  readonly time: number;
  /** `trust`, `tool`, `breaker`, `budget`, … (the part of the guard that changed). */
  readonly kind: string;
  /** What changed: an agent id, `route tool`, a breaker key, a budget name. */
  readonly subject: string;
  readonly actor: string;
  readonly reason: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export type NewGuardChange = Omit<GuardChange, 'id'>;

const MAX_REASON = 500;

export class GuardChanges {
  readonly #sql: GuardSql;

  constructor(sql: GuardSql) {
    this.#sql = sql;
  }

  /** Appends `change` (inside `tx` when given, so it commits with the change it describes); resolves its id. */
  async record(change: NewGuardChange, tx: GuardSql = this.#sql): Promise<number> {
    const row = await tx.one(
      'INSERT INTO guard_changes (time, kind, subject, actor, reason, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
      [
        change.time,
        change.kind,
        change.subject,
        change.actor,
        change.reason.slice(0, MAX_REASON),
        JSON.stringify(change.detail),
      ],
    );
    return Number(row?.['id']);
  }

  /** Changes after `id`, oldest first (at most `limit`). */
  async since(id: number, limit = 1000): Promise<GuardChange[]> {
    const rows = await this.#sql.all(
      'SELECT id, time, kind, subject, actor, reason, detail FROM guard_changes WHERE id > $1 ORDER BY id LIMIT $2',
      [id, limit],
    );
    return rows.map(changeOf);
  }

  /** The history of one subject of one kind, newest first (at most `limit`). */
  async of(kind: string, subject: string, limit = 100): Promise<GuardChange[]> {
    const rows = await this.#sql.all(
      'SELECT id, time, kind, subject, actor, reason, detail FROM guard_changes WHERE kind = $1 AND subject = $2 ORDER BY id DESC LIMIT $3',
      [kind, subject, limit],
    );
    return rows.map(changeOf);
  }

  /** The id of the newest change (0 when none). */
  async latest(): Promise<number> {
    const row = await this.#sql.one('SELECT MAX(id) AS id FROM guard_changes');
    return Number(row?.['id'] ?? 0);
  }
}

function changeOf(row: Record<string, unknown>): GuardChange {
  return {
    id: Number(row['id']),
    time: Number(row['time']),
    kind: String(row['kind']),
    subject: String(row['subject']),
    actor: String(row['actor']),
    reason: String(row['reason']),
    detail: JSON.parse(String(row['detail'])) as Record<string, unknown>,
  };
}
