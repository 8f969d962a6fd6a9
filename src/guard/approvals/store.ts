/**
 * Pending and decided human approvals (table `guard_approvals`, migration 6; DESIGN §3 `apv`, §6). A call
 * above its agent's bound creates one (`pending`); the person it is addressed to (or an admin acting for a
 * group) approves or denies it; an approved one is spent by exactly one call (`used`, atomically, by the
 * gateway that forwards it). Pending approvals expire unanswered at `expires`, approved ones at `use_by`:
 * reads say so at once, and the control plane's sweep (`expireDue`) marks them in the store. Every change
 * is recorded in the guard's change history (kind `approval`) in the same transaction.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../ledger/jcs.ts';
import type { RiskFactor } from '../risk.ts';
import type { GuardChanges } from '../store/changes.ts';
import type { GuardSql, SqlValue } from '../store/guard-sql.ts';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn' | 'used';

/** What an approval may narrow: constraints for the approved call's warrant, a shorter usable window. */
export interface ApprovalNarrowing {
  /** Grant constraints (`max_amount`, enumerations) the approval's warrant carries on top of its parent's. */
  readonly constraints?: Readonly<Record<string, number | readonly string[]>>;
  /** Seconds the approval stays usable once approved (at most `guard.approvals.warrantLifetimeSeconds`). */
  readonly windowSeconds?: number;
}

export interface Approval {
  readonly id: string;
  readonly status: ApprovalStatus;
  readonly person: { readonly sub: string; readonly iss: string };
  /** The calling agent. */
  readonly caller: string;
  /** The actors of the presented chain, root first. */
  readonly chain: readonly string[];
  readonly txn: string;
  /** Token hash of the warrant the call presented (the approval's warrant is its child). */
  readonly warrant: string;
  readonly action: string;
  readonly resource: string;
  /** What the approver is shown of the call (src/guard/approvals/digest.ts BoundCall). */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** base64url SHA-256 of the call's canonical description: what `apv.digest` binds. */
  readonly digest: string;
  /** The request's RFC 9421 `Content-Digest`, on routes that sign bodies. */
  readonly contentDigest?: string;
  readonly risk: number;
  /** The effective bound the risk exceeded. */
  readonly bound: number;
  readonly factors: readonly RiskFactor[];
  /** `person:<iss> <sub>` or `group:<name>`. */
  readonly addressedTo: string;
  /** Epoch seconds. */
  readonly created: number;
  readonly expires: number;
  readonly decidedBy?: string;
  readonly decidedAt?: number;
  readonly reason?: string;
  readonly narrow?: ApprovalNarrowing;
  /** Approved: the last second the approval can be used. */
  readonly useBy?: number;
  readonly usedAt?: number;
}

export type NewApproval = Omit<
  Approval,
  'status' | 'decidedBy' | 'decidedAt' | 'reason' | 'narrow' | 'useBy' | 'usedAt'
>;

/** Why a decision or a use was refused: the approval's state, for the caller's error code. */
export type ApprovalRefusal =
  | 'not_found'
  | 'expired'
  | 'decided'
  | 'used'
  | 'withdrawn'
  | 'denied'
  | 'mismatch';

export class ApprovalError extends Error {
  readonly refusal: ApprovalRefusal;
  readonly approval: Approval | undefined;
  constructor(refusal: ApprovalRefusal, message: string, approval?: Approval) {
    super(message);
    this.refusal = refusal;
    this.approval = approval;
  }
}

const COLUMNS =
  'id, status, person_sub, person_iss, caller, chain, txn, warrant, action, resource, parameters, digest, content_digest, risk, bound, factors, addressed_to, created, expires, decided_by, decided_at, reason, narrow, use_by, used_at';

/** The address of a person: `person:<iss> <sub>`. */
export const personAddress = (person: { readonly iss: string; readonly sub: string }): string =>
  `person:${person.iss} ${person.sub}`;

export class ApprovalStore {
  readonly #sql: GuardSql;
  readonly #changes: GuardChanges;

  constructor(sql: GuardSql, changes: GuardChanges) {
    this.#sql = sql;
    this.#changes = changes;
  }

  /** Stores a new pending approval and records its creation. */
  async create(approval: NewApproval, actor: string): Promise<Approval> {
    const a = approval;
    await this.#sql.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO guard_approvals (${COLUMNS}) VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, NULL, NULL, NULL, NULL, NULL, NULL)`,
        [
          a.id,
          a.person.sub,
          a.person.iss,
          a.caller,
          JSON.stringify(a.chain),
          a.txn,
          a.warrant,
          a.action,
          a.resource,
          JSON.stringify(a.parameters),
          a.digest,
          a.contentDigest ?? null,
          a.risk,
          a.bound,
          JSON.stringify(a.factors),
          a.addressedTo,
          a.created,
          a.expires,
        ],
      );
      await this.#changes.record(
        {
          time: a.created,
          kind: 'approval',
          subject: a.id,
          actor,
          reason: `risk ${a.risk} above bound ${a.bound}: ${a.action} needs approval`,
          detail: { status: 'pending', action: a.action, caller: a.caller, addressedTo: a.addressedTo },
        },
        tx,
      );
    });
    return { ...a, status: 'pending' };
  }

  /** One approval as it stands at `now` (a pending one past `expires` reads as `expired`). */
  async get(id: string, now: number): Promise<Approval | undefined> {
    const row = await this.#sql.one(`SELECT ${COLUMNS} FROM guard_approvals WHERE id = $1`, [id]);
    return row === undefined ? undefined : approvalOf(row, now);
  }

  /** Approvals newest first, optionally of one status (as they stand at `now`) and one address. */
  async list(
    now: number,
    filter: { status?: ApprovalStatus; addressedTo?: string; limit?: number } = {},
  ): Promise<Approval[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    // `pending` and `expired` depend on the clock: both come from the stored `pending` rows.
    if (filter.status === 'pending') {
      params.push(now);
      where.push(`status = 'pending' AND expires > $${params.length}`);
    } else if (filter.status === 'expired') {
      params.push(now);
      where.push(
        `(status = 'expired' OR (status = 'pending' AND expires <= $${params.length}) OR (status = 'approved' AND use_by < $${params.length}))`,
      );
    } else if (filter.status === 'approved') {
      params.push(now);
      where.push(`status = 'approved' AND use_by >= $${params.length}`);
    } else if (filter.status !== undefined) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.addressedTo !== undefined) {
      params.push(filter.addressedTo);
      where.push(`addressed_to = $${params.length}`);
    }
    params.push(Math.min(filter.limit ?? 100, 1000));
    const rows = await this.#sql.all(
      `SELECT ${COLUMNS} FROM guard_approvals${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created DESC, id LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => approvalOf(r, now));
  }

  /**
   * Approves or denies a pending approval, atomically: only a `pending` row not yet expired changes, so two
   * deciders racing get one success and one `decided`. Throws `ApprovalError` otherwise.
   */
  async decide(
    id: string,
    decision: {
      readonly status: 'approved' | 'denied';
      readonly by: string;
      readonly reason: string;
      readonly narrow?: ApprovalNarrowing;
      /** Approved: the last second it can be used. */
      readonly useBy?: number;
    },
    now: number,
  ): Promise<Approval> {
    const changed = await this.#sql.transaction(async (tx) => {
      const n = await tx.run(
        "UPDATE guard_approvals SET status = $1, decided_by = $2, decided_at = $3, reason = $4, narrow = $5, use_by = $6, digest = COALESCE($8, digest) WHERE id = $7 AND status = 'pending' AND expires > $3",
        [
          decision.status,
          decision.by,
          now,
          decision.reason,
          decision.narrow === undefined ? null : JSON.stringify(decision.narrow),
          decision.status === 'approved' ? (decision.useBy ?? null) : null,
          id,
          narrowedBinding(id, decision),
        ],
      );
      if (n === 0) return false;
      await this.#changes.record(
        {
          time: now,
          kind: 'approval',
          subject: id,
          actor: decision.by,
          reason: decision.reason,
          detail: { status: decision.status, ...(decision.narrow ? { narrow: decision.narrow } : {}) },
        },
        tx,
      );
      return true;
    });
    const approval = await this.get(id, now);
    if (approval === undefined) throw new ApprovalError('not_found', 'no such approval');
    if (!changed) throw refusalOf(approval);
    return approval;
  }

  /**
   * Withdraws an approval not yet used (pending or approved): it can no longer be decided or used.
   */
  async withdraw(id: string, by: string, reason: string, now: number): Promise<Approval> {
    const changed = await this.#sql.transaction(async (tx) => {
      const n = await tx.run(
        "UPDATE guard_approvals SET status = 'withdrawn', decided_by = COALESCE(decided_by, $1), reason = $2 WHERE id = $3 AND status IN ('pending', 'approved')",
        [by, reason, id],
      );
      if (n === 0) return false;
      await this.#changes.record(
        { time: now, kind: 'approval', subject: id, actor: by, reason, detail: { status: 'withdrawn' } },
        tx,
      );
      return true;
    });
    const approval = await this.get(id, now);
    if (approval === undefined) throw new ApprovalError('not_found', 'no such approval');
    if (!changed) throw refusalOf(approval);
    return approval;
  }

  /**
   * Spends an approved approval on the one call it binds: atomically `approved` → `used`, only for the
   * same action and digest and not after `use_by`. A second use, another call, an expired, withdrawn or
   * denied approval is an `ApprovalError` naming why.
   */
  async use(
    id: string,
    call: {
      readonly action: string;
      readonly digest: string;
      readonly resource: string;
      readonly by: string;
    },
    now: number,
  ): Promise<Approval> {
    const changed = await this.#sql.transaction(async (tx) => {
      const n = await tx.run(
        "UPDATE guard_approvals SET status = 'used', used_at = $1 WHERE id = $2 AND status = 'approved' AND action = $3 AND digest = $4 AND resource = $5 AND use_by >= $1",
        [now, id, call.action, call.digest, call.resource],
      );
      if (n === 0) return false;
      await this.#changes.record(
        {
          time: now,
          kind: 'approval',
          subject: id,
          actor: call.by,
          reason: 'used by the call it approved',
          detail: { status: 'used' },
        },
        tx,
      );
      return true;
    });
    const approval = await this.get(id, now);
    if (approval === undefined) throw new ApprovalError('not_found', 'no such approval');
    if (changed) return approval;
    if (
      approval.status === 'approved' &&
      (approval.action !== call.action ||
        approval.digest !== call.digest ||
        approval.resource !== call.resource)
    )
      throw new ApprovalError('mismatch', 'the approval is for another call', approval);
    throw refusalOf(approval);
  }
  /**
   * Marks the approvals that expired by `now` — pending past `expires`, approved past `use_by` — as
   * `expired`, each change recorded (actor `system`). Reads already show them expired; this makes the
   * stored state and the history say so too. Resolves the ids expired.
   */
  async expireDue(now: number, limit = 100): Promise<string[]> {
    const due = await this.#sql.all(
      "SELECT id FROM guard_approvals WHERE (status = 'pending' AND expires <= $1) OR (status = 'approved' AND use_by < $1) ORDER BY created LIMIT $2",
      [now, limit],
    );
    const expired: string[] = [];
    for (const row of due) {
      const id = String(row['id']);
      const changed = await this.#sql.transaction(async (tx) => {
        const n = await tx.run(
          "UPDATE guard_approvals SET status = 'expired' WHERE id = $1 AND ((status = 'pending' AND expires <= $2) OR (status = 'approved' AND use_by < $2))",
          [id, now],
        );
        if (n === 0) return false;
        await this.#changes.record(
          {
            time: now,
            kind: 'approval',
            subject: id,
            actor: 'system',
            reason: 'expired unanswered or unused',
            detail: { status: 'expired' },
          },
          tx,
        );
        return true;
      });
      if (changed) expired.push(id);
    }
    return expired;
  }
}

/**
 * What an approval narrowed by constraints binds instead of the exact call: the approval itself (its id)
 * and the constraints, which the approval's warrant carries in its grants — so the agent may send the call
 * again within them (a lower amount), once. Without constraints the exact call's digest stays bound.
 */
function narrowedBinding(
  id: string,
  decision: { readonly status: string; readonly narrow?: ApprovalNarrowing },
): string | null {
  const constraints = decision.narrow?.constraints;
  if (decision.status !== 'approved' || constraints === undefined || Object.keys(constraints).length === 0)
    return null;
  return `narrow:${createHash('sha256').update(canonicalJson({ id, constraints })).digest('base64url')}`;
}

/** The refusal an approval's state means for someone who wanted to decide or use it. */
export function refusalOf(approval: Approval): ApprovalError {
  switch (approval.status) {
    case 'expired':
      return new ApprovalError('expired', 'the approval has expired', approval);
    case 'used':
      return new ApprovalError('used', 'the approval was already used', approval);
    case 'withdrawn':
      return new ApprovalError('withdrawn', 'the approval was withdrawn', approval);
    case 'denied':
      return new ApprovalError('denied', 'the approval was denied', approval);
    default:
      return new ApprovalError('decided', `the approval is already ${approval.status}`, approval);
  }
}

function effectiveStatus(status: ApprovalStatus, expires: number, useBy: number | undefined, now: number) {
  if (status === 'pending' && expires <= now) return 'expired';
  if (status === 'approved' && useBy !== undefined && useBy < now) return 'expired';
  return status;
}

function optionalNumber(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

function optionalString(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

function approvalOf(row: Record<string, unknown>, now: number): Approval {
  const expires = Number(row['expires']);
  const useBy = optionalNumber(row['use_by']);
  const decidedBy = optionalString(row['decided_by']);
  const decidedAt = optionalNumber(row['decided_at']);
  const reason = optionalString(row['reason']);
  const narrow = optionalString(row['narrow']);
  const usedAt = optionalNumber(row['used_at']);
  const contentDigest = optionalString(row['content_digest']);
  return {
    id: String(row['id']),
    status: effectiveStatus(row['status'] as ApprovalStatus, expires, useBy, now),
    person: { sub: String(row['person_sub']), iss: String(row['person_iss']) },
    caller: String(row['caller']),
    chain: JSON.parse(String(row['chain'])) as string[],
    txn: String(row['txn']),
    warrant: String(row['warrant']),
    action: String(row['action']),
    resource: String(row['resource']),
    parameters: JSON.parse(String(row['parameters'])) as Record<string, unknown>,
    digest: String(row['digest']),
    ...(contentDigest === undefined ? {} : { contentDigest }),
    risk: Number(row['risk']),
    bound: Number(row['bound']),
    factors: JSON.parse(String(row['factors'])) as RiskFactor[],
    addressedTo: String(row['addressed_to']),
    created: Number(row['created']),
    expires,
    ...(decidedBy === undefined ? {} : { decidedBy }),
    ...(decidedAt === undefined ? {} : { decidedAt }),
    ...(reason === undefined ? {} : { reason }),
    ...(narrow === undefined ? {} : { narrow: JSON.parse(narrow) as ApprovalNarrowing }),
    ...(useBy === undefined ? {} : { useBy }),
    ...(usedAt === undefined ? {} : { usedAt }),
  };
}
