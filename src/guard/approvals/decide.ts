/**
 * Deciding an approval, the same for both approvers (DESIGN §6): the person it is addressed to (their own
 * ID token, src/guard/approvals/approver-api.ts) or an admin acting for the group it is addressed to
 * (src/guard/admin/approvals.ts). The body is `{reason, narrow?}`; the decision is final and atomic.
 */
import type { GuardConfig } from '../../config/types.ts';
import type { ErrorCode } from '../../core/errors.ts';
import { parseGrant } from '../../core/grants/index.ts';
import { bad } from '../../sts/admin-input.ts';
import { OAuthError } from '../../sts/oauth-error.ts';
import {
  type Approval,
  ApprovalError,
  type ApprovalNarrowing,
  type ApprovalRefusal,
  type ApprovalStore,
} from './store.ts';

const CODES: Readonly<Record<ApprovalRefusal, ErrorCode>> = {
  not_found: 'WARRANT_APPROVAL_NOT_FOUND',
  expired: 'WARRANT_APPROVAL_EXPIRED',
  decided: 'WARRANT_APPROVAL_DECIDED',
  used: 'WARRANT_APPROVAL_DECIDED',
  withdrawn: 'WARRANT_APPROVAL_WITHDRAWN',
  denied: 'WARRANT_APPROVAL_DECIDED',
  mismatch: 'WARRANT_APPROVAL_INVALID',
};

/** An approval refusal as the API answers it: 404 unknown, 409 already decided or expired. */
export function approvalRefusal(error: ApprovalError): OAuthError {
  const code = CODES[error.refusal];
  if (code === 'WARRANT_APPROVAL_NOT_FOUND') return new OAuthError('not_found', code, error.message);
  return new OAuthError('invalid_request', code, error.message, { status: 409 });
}

/** The store failed: fail closed with a clear code. */
export function storeUnavailable(cause: unknown): OAuthError {
  return new OAuthError(
    'temporarily_unavailable',
    'WARRANT_APPROVAL_STORE_UNAVAILABLE',
    'the approval store is unavailable; retry',
    { cause, headers: { 'retry-after': '1' } },
  );
}

/** Reads the store, turning its failures into the API's answers. */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApprovalError) throw approvalRefusal(error);
    if (error instanceof OAuthError) throw error;
    throw storeUnavailable(error);
  }
}

/** `{reason, narrow?}`: a reason of 1..500 characters, and what the approval narrows. */
export function readDecision(body: Record<string, unknown>): { reason: string; narrow?: ApprovalNarrowing } {
  for (const key of Object.keys(body))
    if (key !== 'reason' && key !== 'narrow') throw bad(`unknown member ${key.slice(0, 64)}`);
  const reason = body['reason'];
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500)
    throw bad('reason must be a string of 1..500 characters');
  const narrow = body['narrow'];
  if (narrow === undefined) return { reason };
  return { reason, narrow: readNarrowing(narrow) };
}

function readNarrowing(value: unknown): ApprovalNarrowing {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('narrow must be an object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v))
    if (key !== 'constraints' && key !== 'windowSeconds')
      throw bad('narrow has members other than constraints and windowSeconds');
  const out: { constraints?: Record<string, number | string[]>; windowSeconds?: number } = {};
  if (v['windowSeconds'] !== undefined) {
    const w = v['windowSeconds'];
    if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 1 || w > 86_400)
      throw bad('narrow.windowSeconds must be an integer of 1..86400');
    out.windowSeconds = w;
  }
  if (v['constraints'] !== undefined) {
    // The grant parser is the one judge of constraints: a malformed or unknown kind is refused here.
    try {
      const grant = parseGrant({ action: 'x', resource: 'x', constraints: v['constraints'] });
      const constraints = (grant.constraints ?? {}) as Record<string, number | string[]>;
      if ('data_class' in constraints || 'destination' in constraints)
        throw new Error('only numeric maxima and enumerations');
      if (Object.keys(constraints).length === 0) throw new Error('no constraint');
      out.constraints = constraints;
    } catch (error) {
      throw bad(`narrow.constraints are invalid: ${(error as Error).message}`);
    }
  }
  return out;
}

/**
 * Approves or denies `id` for `by` (an address check is the caller's part): an approval becomes usable for
 * `guard.approvals.warrantLifetimeSeconds` (or the shorter `narrow.windowSeconds`).
 */
export function decide(
  store: ApprovalStore,
  config: GuardConfig,
  id: string,
  status: 'approved' | 'denied',
  by: string,
  body: { reason: string; narrow?: ApprovalNarrowing },
  now: number,
): Promise<Approval> {
  const window = Math.min(
    body.narrow?.windowSeconds ?? config.approvals.warrantLifetimeSeconds,
    config.approvals.warrantLifetimeSeconds,
  );
  return guarded(() =>
    store.decide(
      id,
      {
        status,
        by,
        reason: body.reason,
        ...(status === 'approved' && body.narrow ? { narrow: body.narrow } : {}),
        ...(status === 'approved' ? { useBy: now + window } : {}),
      },
      now,
    ),
  );
}

/** An approval as the API shows it (snake_case times, no internal columns). */
export function approvalView(a: Approval): Record<string, unknown> {
  return {
    id: a.id,
    status: a.status,
    person: a.person,
    caller: a.caller,
    chain: a.chain,
    txn: a.txn,
    action: a.action,
    resource: a.resource,
    parameters: a.parameters,
    digest: a.digest,
    ...(a.contentDigest === undefined ? {} : { content_digest: a.contentDigest }),
    risk: a.risk,
    bound: a.bound,
    factors: a.factors,
    addressed_to: a.addressedTo,
    created_at: a.created,
    expires_at: a.expires,
    ...(a.decidedBy === undefined ? {} : { decided_by: a.decidedBy }),
    ...(a.decidedAt === undefined ? {} : { decided_at: a.decidedAt }),
    ...(a.reason === undefined ? {} : { reason: a.reason }),
    ...(a.narrow === undefined ? {} : { narrow: a.narrow }),
    ...(a.useBy === undefined ? {} : { use_by: a.useBy }),
    ...(a.usedAt === undefined ? {} : { used_at: a.usedAt }),
  };
}

/** The path's approval id, or a 404 for one that cannot be an id. */
export function approvalIdIn(segment: string | undefined): string {
  if (segment === undefined || !/^[A-Za-z0-9-]{1,64}$/.test(segment))
    throw new OAuthError('not_found', 'WARRANT_APPROVAL_NOT_FOUND', 'no such approval');
  return segment;
}

/** Status filter of a listing. */
export function statusFilter(value: string | null): Approval['status'] | undefined {
  if (value === null) return undefined;
  const all = ['pending', 'approved', 'denied', 'expired', 'withdrawn', 'used'];
  if (!all.includes(value)) throw bad(`status must be one of ${all.join(', ')}`);
  return value as Approval['status'];
}
