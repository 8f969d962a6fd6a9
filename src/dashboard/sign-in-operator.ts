/**
 * `POST /ui/auth/operator` `{token}`: an operator signs in with the admin credential (compared in constant
 * time, as the admin API does); the answer sets the session cookie. Only from this origin (a login form on
 * another site cannot sign a browser in).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBody } from '../sts/admin-input.ts';
import { sendJson } from '../sts/http/respond.ts';
import { signInFailed } from './answers.ts';
import type { DashboardContext } from './context.ts';
import { checkSameOrigin } from './csrf.ts';
import { sessionCookie } from './session-cookie.ts';

export async function signInOperator(
  ctx: DashboardContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  checkSameOrigin(req, ctx.publicUrl());
  const body = await jsonBody(req);
  const token = body['token'];
  if (ctx.adminToken === undefined)
    throw signInFailed('operators cannot sign in: no admin credential is set');
  const digest = (v: string) => createHash('sha256').update(v).digest();
  if (typeof token !== 'string' || !timingSafeEqual(digest(token), digest(ctx.adminToken)))
    throw signInFailed('the admin credential is wrong');
  const session = ctx.sessions.create('operator');
  sendJson(
    res,
    200,
    { role: session.role, csrf: session.csrf, expires: session.expires },
    {
      'set-cookie': sessionCookie(ctx, session.id),
    },
  );
}
