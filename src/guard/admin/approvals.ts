/**
 * Approvals through the admin API (DESIGN §6): list and read every approval, decide the ones addressed to
 * a group (an admin acts for the group), withdraw any not yet used. An approval addressed to a person is
 * decided by that person only, with their own authentication (src/guard/approvals/approver-api.ts).
 *
 *   GET  /admin/approvals?status=&addressed_to=&limit=
 *   GET  /admin/approvals/{id}
 *   POST /admin/approvals/{id}/approve   {reason, narrow?}
 *   POST /admin/approvals/{id}/deny      {reason}
 *   POST /admin/approvals/{id}/withdraw  {reason}
 */
import type { GuardConfig } from '../../config/types.ts';
import type { AdminExtension } from '../../sts/admin-input.ts';
import { bad, jsonBody } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { OAuthError } from '../../sts/oauth-error.ts';
import {
  approvalIdIn,
  approvalView,
  decide,
  guarded,
  readDecision,
  statusFilter,
} from '../approvals/decide.ts';
import type { GuardRuntime } from '../runtime.ts';

export function approvalsAdmin(guard: GuardRuntime, config: GuardConfig): AdminExtension {
  return async (req, res, url, parts) => {
    const [collection, rawId, verb, ...rest] = parts;
    if (collection !== 'approvals' || rest.length > 0) return false;
    const method = req.method ?? 'GET';
    const now = guard.now();
    if (rawId === undefined) {
      if (method !== 'GET') return false;
      const limit = Number(url.searchParams.get('limit') ?? 100);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw bad('limit must be 1..1000');
      const status = statusFilter(url.searchParams.get('status'));
      const addressedTo = url.searchParams.get('addressed_to') ?? undefined;
      const list = await guarded(() =>
        guard.approvals.list(now, {
          limit,
          ...(status ? { status } : {}),
          ...(addressedTo ? { addressedTo } : {}),
        }),
      );
      sendJson(res, 200, { approvals: list.map(approvalView) });
      return true;
    }
    const id = approvalIdIn(rawId);
    if (verb === undefined) {
      if (method !== 'GET') return false;
      const approval = await guarded(() => guard.approvals.get(id, now));
      if (approval === undefined)
        throw new OAuthError('not_found', 'WARRANT_APPROVAL_NOT_FOUND', 'no such approval');
      sendJson(res, 200, approvalView(approval));
      return true;
    }
    if (method !== 'POST' || (verb !== 'approve' && verb !== 'deny' && verb !== 'withdraw')) return false;
    const body = readDecision(await jsonBody(req));
    if (verb === 'withdraw') {
      const withdrawn = await guarded(() => guard.approvals.withdraw(id, 'admin', body.reason, now));
      sendJson(res, 200, approvalView(withdrawn));
      return true;
    }
    const approval = await guarded(() => guard.approvals.get(id, now));
    if (approval === undefined)
      throw new OAuthError('not_found', 'WARRANT_APPROVAL_NOT_FOUND', 'no such approval');
    // An admin acts for a group; a person decides their own approvals themselves.
    if (!approval.addressedTo.startsWith('group:'))
      throw new OAuthError(
        'access_denied',
        'WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU',
        'the approval is addressed to a person: they decide it with their own authentication',
      );
    const decided = await decide(
      guard.approvals,
      config,
      id,
      verb === 'approve' ? 'approved' : 'denied',
      `admin for ${approval.addressedTo}`,
      body,
      now,
    );
    sendJson(res, 200, approvalView(decided));
    return true;
  };
}
