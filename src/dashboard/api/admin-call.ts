/**
 * The admin API's operations, called by the dashboard for an operator: the same endpoints, the same checks
 * and the same change history as `warrant …` commands and scripts, over this control plane's own listener
 * with the admin credential (which never reaches the browser).
 */
import type { DashboardContext } from '../context.ts';

export interface AdminAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export async function adminCall(
  ctx: DashboardContext,
  method: string,
  path: string,
  body?: string,
): Promise<AdminAnswer> {
  if (ctx.adminToken === undefined) return { status: 404, contentType: 'application/json', body: '{}' };
  const answer = await fetch(`${ctx.selfUrl()}/admin${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ctx.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
    redirect: 'error',
  });
  return {
    status: answer.status,
    contentType: answer.headers.get('content-type') ?? 'application/json',
    body: await answer.text(),
  };
}
