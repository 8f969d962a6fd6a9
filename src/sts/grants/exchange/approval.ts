/**
 * The approval exchange (DESIGN §3 `apv`, §6): an agent whose call needed a person's approval presents the
 * warrant it made the call with (`subject_token`) and the approval's id (`approval_id`), and receives a
 * short-lived warrant that is the same authority plus `apv` — the approval bound to that one call (action
 * and call digest). The new warrant takes the subject warrant's place in the chain (same `prev`, actors,
 * audience, depth; grants and lifetime only narrow), and the STS records it as the subject warrant's child,
 * so revoking the subject revokes it too. The gateway spends the approval on the first call it lets
 * through (single use).
 */
import type { ErrorCode } from '../../../core/errors.ts';
import { type Grant, parseGrant, scopeOf } from '../../../core/grants/index.ts';
import { constraintMeet } from '../../../core/grants/narrow.ts';
import { OAuthError } from '../../oauth-error.ts';
import { TOKEN_TYPE, type TokenResponse } from '../types.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';

const refused = (code: ErrorCode, description: string) => new OAuthError('invalid_grant', code, description);

/** The approval id asked for: a UUID-like token of at most 64 characters. */
export function approvalIdOf(params: Map<string, string>): string | undefined {
  const id = params.get('approval_id');
  if (id === undefined) return undefined;
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id))
    throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', 'approval_id is malformed');
  return id;
}

/**
 * The caller holds the subject warrant (it is its current actor, bound to the key of this DPoP proof) and
 * asks for the same audience: an approval changes nothing but the approval.
 */
export function checkHolder(ctx: Pick<ExchangeContext, 'parent' | 'caller' | 'proof' | 'audience'>): void {
  const p = ctx.parent.claims;
  if (p.act.sub !== ctx.caller.id || p.cnf.jkt !== ctx.proof.jkt)
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_CALLER_NOT_AUDIENCE',
      'the caller does not hold the subject warrant',
    );
  if (ctx.audience !== p.aud)
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'an approval exchange keeps the subject warrant audience',
    );
}

/** The approval: approved, still usable, and made for a call this caller made with this very warrant. */
export async function loadApproval(
  ctx: Pick<ExchangeContext, 'params' | 'parent' | 'caller' | 'now' | 'approval'> & {
    readonly services: Pick<ExchangeServices, 'approvals'>;
  },
): Promise<void> {
  const id = approvalIdOf(ctx.params)!;
  const store = ctx.services.approvals;
  if (store === undefined) throw refused('WARRANT_APPROVAL_INVALID', 'approvals are not enabled here');
  let approval: Awaited<ReturnType<typeof store.get>>;
  try {
    approval = await store.get(id, ctx.now);
  } catch (cause) {
    throw new OAuthError(
      'temporarily_unavailable',
      'WARRANT_APPROVAL_STORE_UNAVAILABLE',
      'the approval store is unavailable; retry',
      { cause, headers: { 'retry-after': '1' } },
    );
  }
  if (approval === undefined) throw refused('WARRANT_APPROVAL_NOT_FOUND', 'no such approval');
  if (approval.caller !== ctx.caller.id || approval.warrant !== ctx.parent.hash)
    throw refused('WARRANT_APPROVAL_INVALID', 'the approval is for a call made with another warrant');
  switch (approval.status) {
    case 'approved':
      break;
    case 'pending':
      throw refused('WARRANT_APPROVAL_REQUIRED', 'the approval is still pending; poll it and retry');
    case 'denied':
      throw refused('WARRANT_APPROVAL_DENIED', 'the approval was denied');
    case 'used':
      throw refused('WARRANT_APPROVAL_USED', 'the approval was already used');
    case 'withdrawn':
      throw refused('WARRANT_APPROVAL_WITHDRAWN', 'the approval was withdrawn');
    case 'expired':
      throw refused('WARRANT_APPROVAL_EXPIRED', 'the approval has expired');
  }
  ctx.approval = approval;
}

/** The subject warrant's grants, each with the approval's narrowing constraints added (tighter wins). */
export function approvalGrants(ctx: Pick<ExchangeContext, 'parent' | 'approval' | 'grants'>): void {
  const extra = ctx.approval.narrow?.constraints ?? {};
  ctx.grants = ctx.parent.claims.grants.map((grant) => narrowed(grant, extra));
}

function narrowed(grant: Grant, extra: Readonly<Record<string, unknown>>): Grant {
  if (Object.keys(extra).length === 0) return grant;
  const constraints: Record<string, unknown> = { ...grant.constraints };
  for (const [key, value] of Object.entries(extra)) {
    const held = constraints[key];
    const meet = held === undefined ? value : constraintMeet(key, value as never, held as never);
    if (meet === undefined)
      throw refused(
        'WARRANT_APPROVAL_INVALID',
        `the approval's narrowing of ${key} leaves nothing of the warrant`,
      );
    constraints[key] = meet;
  }
  return parseGrant({ action: grant.action, resource: grant.resource, constraints });
}

/** Short-lived: at most the approval warrant lifetime, never past the approval's window or the subject. */
export function approvalLifetime(
  ctx: Pick<ExchangeContext, 'parent' | 'approval' | 'now' | 'iat' | 'exp'> & {
    readonly services: Pick<ExchangeServices, 'config'>;
  },
): void {
  const lifetime = ctx.services.config.guard?.approvals.warrantLifetimeSeconds ?? 120;
  const exp = Math.min(ctx.parent.claims.exp, ctx.approval.useBy ?? ctx.now, ctx.now + lifetime);
  if (exp <= ctx.now) throw refused('WARRANT_APPROVAL_EXPIRED', 'the approval or its warrant has expired');
  ctx.iat = ctx.now;
  ctx.exp = exp;
}

/** Signs the subject warrant's authority again with `apv`, recorded as its child (a hop of the chain). */
export async function mintApproval(
  ctx: Pick<
    ExchangeContext,
    'parent' | 'approval' | 'grants' | 'proof' | 'now' | 'iat' | 'exp' | 'response'
  > & {
    readonly services: Pick<ExchangeServices, 'mintWarrant'>;
  },
): Promise<void> {
  const { parent, approval } = ctx;
  const p = parent.claims;
  const { token, claims } = await ctx.services.mintWarrant(
    {
      sub: p.sub,
      sub_iss: p.sub_iss,
      act: p.act,
      aud: p.aud,
      scope: scopeOf(ctx.grants),
      grants: ctx.grants,
      txn: p.txn,
      ...(p.task === undefined ? {} : { task: p.task }),
      ...(p.prev === undefined ? {} : { prev: p.prev }),
      ...(p.root === undefined ? {} : { root: p.root }),
      depth: p.depth,
      max_depth: p.max_depth,
      may_delegate: false,
      cnf: { jkt: ctx.proof.jkt },
      apv: {
        id: approval.id,
        approver: approval.decidedBy ?? '',
        at: approval.decidedAt ?? ctx.now,
        action: approval.action,
        digest: approval.digest,
      },
      iat: ctx.iat,
      exp: ctx.exp,
    },
    parent.hash,
  );
  const response: TokenResponse = {
    access_token: token,
    token_type: 'DPoP',
    expires_in: claims.exp - ctx.now,
    issued_token_type: TOKEN_TYPE.warrant,
    scope: claims.scope,
  };
  ctx.response = response;
}
