/**
 * Approvals on the dashboard (DESIGN §6):
 *
 *   GET  /ui/api/approvals?status=             a person: those addressed to them; an operator: all
 *   POST /ui/api/approvals/{id}/approve|deny   {reason, narrow?}
 *
 * A person decides the approvals addressed to them — the same rules as `POST /approvals/{id}/approve` with
 * their own ID token (not one requested by an agent they own, unless `guard.approvals.ownerMayApprove`);
 * an operator decides those addressed to a group, through the admin API. The decision lands in the guard's
 * approval store, where the waiting agent's exchange (`approval_id`) finds it.
 */

import { mayDecide } from '../../guard/approvals/approver-api.ts';
import {
  approvalIdIn,
  approvalView,
  decide,
  guarded,
  readDecision,
  statusFilter,
} from '../../guard/approvals/decide.ts';
import { personAddress } from '../../guard/approvals/store.ts';
import { jsonBody } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { OAuthError } from '../../sts/oauth-error.ts';
import { adminCall } from './admin-call.ts';
import type { ApiOperation } from './types.ts';

export const approvals: ApiOperation = async ({ req, res, url, parts, session, ctx }) => {
  if (parts[0] !== 'approvals' || parts.length > 3) return false;
  const { guard } = ctx;
  const method = req.method ?? 'GET';
  const now = guard.now();
  if (parts.length === 1 && method === 'GET') {
    const status = statusFilter(url.searchParams.get('status'));
    const list = await guarded(() =>
      guard.approvals.list(now, {
        limit: 200,
        ...(status ? { status } : {}),
        ...(session.person ? { addressedTo: personAddress(session.person) } : {}),
      }),
    );
    sendJson(res, 200, { approvals: list.map(approvalView) });
    return true;
  }
  const [, rawId, verb] = parts;
  if (parts.length !== 3 || method !== 'POST' || (verb !== 'approve' && verb !== 'deny')) return false;
  const id = approvalIdIn(rawId);
  const body = await jsonBody(req);
  if (session.role === 'operator') {
    const answer = await adminCall(
      ctx,
      'POST',
      `/approvals/${encodeURIComponent(id)}/${verb}`,
      JSON.stringify(body),
    );
    res.writeHead(answer.status, { 'content-type': answer.contentType, 'cache-control': 'no-store' });
    res.end(answer.body);
    return true;
  }
  const approval = await guarded(() => guard.approvals.get(id, now));
  if (approval === undefined)
    throw new OAuthError('not_found', 'WARRANT_APPROVAL_NOT_FOUND', 'no such approval');
  const person = session.person!;
  await mayDecide(ctx.sts, ctx.config.guard, approval, person);
  const decided = await decide(
    guard.approvals,
    ctx.config.guard,
    id,
    verb === 'approve' ? 'approved' : 'denied',
    `${person.iss} ${person.sub}`,
    readDecision(body),
    now,
  );
  sendJson(res, 200, approvalView(decided));
  return true;
};
