/**
 * Approvals for the people they are addressed to (DESIGN §6), on the STS's listener beside the token
 * endpoint — the person's own authentication, never the admin credential:
 *
 *   GET  /approvals/{id}              anyone holding the id: its status (what the agent polls)
 *   GET  /approvals                   Bearer <ID token>: the approvals addressed to me, pending first
 *   GET  /approvals/{id}              Bearer <ID token>: the whole approval, if addressed to me
 *   POST /approvals/{id}/approve      Bearer <ID token>, {reason, narrow?}
 *   POST /approvals/{id}/deny         Bearer <ID token>, {reason}
 *
 * The ID token comes from a trusted OIDC issuer (the STS verifies it as it verifies persons' assertions:
 * strict JWS, the issuer's keys, `typ`, times), is addressed to `guard.approvals.approverAudience` (else
 * the issuer's configured `audience`), and is recent (the issuer's `maxAssertionAgeSeconds`). An approval
 * addressed to someone else, or to a group, is not theirs to decide; nor is one requested by an agent they
 * own, unless `guard.approvals.ownerMayApprove`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GuardConfig } from '../../config/types.ts';
import { singleHeader } from '../../http/headers.ts';
import { jsonBody } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { OAuthError } from '../../sts/oauth-error.ts';
import type { Sts } from '../../sts/sts.ts';
import type { GuardRuntime } from '../runtime.ts';
import { approvalIdIn, approvalView, decide, guarded, readDecision, statusFilter } from './decide.ts';
import { type Approval, personAddress } from './store.ts';

/** A route another part adds to the STS listener: answers and resolves `true` when the path is its own. */
export type StsRouteExtension = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/** A person authenticated to decide approvals. */
export interface Approver {
  readonly sub: string;
  readonly iss: string;
  readonly email?: string;
}

const CLOCK_TOLERANCE = 30;

const authFailed = (description: string, cause?: unknown) =>
  new OAuthError('invalid_token', 'WARRANT_APPROVER_AUTH_FAILED', description, {
    headers: { 'www-authenticate': 'Bearer realm="warrant-approvals"' },
    ...(cause === undefined ? {} : { cause }),
  });

const notYours = (description: string) =>
  new OAuthError('access_denied', 'WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU', description);

type ApproverSts = Pick<Sts, 'trustedIssuers' | 'clock' | 'store'>;

export function approverApi(guard: GuardRuntime, sts: ApproverSts, config: GuardConfig): StsRouteExtension {
  return async (req, res, url) => {
    const parts = url.pathname.split('/').slice(1);
    if (parts[0] !== 'approvals' || parts.length > 3) return false;
    const method = req.method ?? 'GET';
    const now = guard.now();
    const [, rawId, verb] = parts;
    const authorization = singleHeader(req.headersDistinct, 'authorization');
    if ((rawId === undefined || rawId === '') && method === 'GET') {
      const me = await approver(sts, config, authorization);
      const status = statusFilter(url.searchParams.get('status'));
      const list = await guarded(() =>
        guard.approvals.list(now, { addressedTo: personAddress(me), ...(status ? { status } : {}) }),
      );
      sendJson(res, 200, { approvals: list.map(approvalView) });
      return true;
    }
    const id = approvalIdIn(rawId);
    const approval = await guarded(() => guard.approvals.get(id, now));
    if (approval === undefined)
      throw new OAuthError('not_found', 'WARRANT_APPROVAL_NOT_FOUND', 'no such approval');
    if (verb === undefined && method === 'GET') {
      if (authorization === undefined) {
        sendJson(res, 200, pollView(approval), { 'cache-control': 'no-store' });
        return true;
      }
      const me = await approver(sts, config, authorization);
      await mayDecide(sts, config, approval, me);
      sendJson(res, 200, approvalView(approval), { 'cache-control': 'no-store' });
      return true;
    }
    if (method !== 'POST' || (verb !== 'approve' && verb !== 'deny')) return false;
    const me = await approver(sts, config, authorization);
    await mayDecide(sts, config, approval, me);
    const body = readDecision(await jsonBody(req));
    const decided = await decide(
      guard.approvals,
      config,
      id,
      verb === 'approve' ? 'approved' : 'denied',
      `${me.iss} ${me.sub}`,
      body,
      now,
    );
    sendJson(res, 200, approvalView(decided));
    return true;
  };
}

/** What the agent sees while it waits: the status and the times, nothing of the call. */
function pollView(a: Approval): Record<string, unknown> {
  return {
    id: a.id,
    status: a.status,
    action: a.action,
    expires_at: a.expires,
    ...(a.useBy === undefined ? {} : { use_by: a.useBy }),
  };
}

/** The person behind `Authorization: Bearer <ID token>`. */
export async function approver(
  sts: Pick<ApproverSts, 'trustedIssuers' | 'clock'>,
  config: GuardConfig,
  authorization: string | undefined,
): Promise<Approver> {
  if (authorization === undefined || !authorization.startsWith('Bearer '))
    throw authFailed("a person's ID token is required (Authorization: Bearer)");
  const token = authorization.slice('Bearer '.length).trim();
  const now = sts.clock();
  let verified: Awaited<ReturnType<Sts['trustedIssuers']['verify']>>;
  try {
    verified = await sts.trustedIssuers.verify(token, 'id_token', now);
  } catch (cause) {
    throw authFailed(cause instanceof OAuthError ? cause.message : 'the ID token does not verify', cause);
  }
  const audience = config.approvals.approverAudience ?? verified.issuer.audience;
  if (audience === undefined) throw authFailed('no approvals audience is configured for this issuer');
  const aud = verified.claims['aud'];
  const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!auds.includes(audience)) throw authFailed('the ID token is not addressed to the approvals audience');
  const authTime = verified.claims['auth_time'];
  const at = typeof authTime === 'number' ? authTime : verified.iat;
  if (at > now + CLOCK_TOLERANCE || now - at > verified.issuer.maxAssertionAgeSeconds)
    throw authFailed('the person authenticated too long ago; sign in again');
  const email = verified.claims['email'];
  return {
    sub: verified.claims['sub'] as string,
    iss: verified.issuer.issuer,
    ...(typeof email === 'string' ? { email } : {}),
  };
}

/** The approval is addressed to this person, and they do not own the requesting agent (unless allowed). */
export async function mayDecide(
  sts: Pick<ApproverSts, 'store'>,
  config: GuardConfig,
  approval: Approval,
  me: Approver,
): Promise<void> {
  if (approval.addressedTo !== personAddress(me)) throw notYours('the approval is addressed to someone else');
  if (config.approvals.ownerMayApprove) return;
  const agent = await sts.store.agents.get(approval.caller);
  const owner = agent?.owner;
  if (owner !== undefined && (owner === me.sub || owner === me.email))
    throw notYours('you own the agent that asks: someone else must approve its requests');
}
