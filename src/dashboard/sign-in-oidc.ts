/**
 * A person's sign-in through OIDC (sign-in-person.ts does the protocol):
 *
 *   GET /ui/auth/oidc       → 302 to the provider, the login id in a SameSite=Lax cookie (10 minutes)
 *   GET /ui/auth/callback   → the code redeemed, the ID token verified; a session for its `sub` and `iss`
 *
 * The callback answers a page that moves on to /ui/ itself: the session cookie is SameSite=Strict, and a
 * browser does not send it on a redirect chain that started at the provider's site.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { notFound } from './answers.ts';
import type { DashboardContext } from './context.ts';
import { securityHeaders } from './security-headers.ts';
import { sessionCookie } from './session-cookie.ts';
import { cookie, setCookie } from './sessions.ts';
import { LOGIN_COOKIE } from './sign-in-person.ts';

export async function startOidc(ctx: DashboardContext, res: ServerResponse): Promise<void> {
  if (ctx.personSignIn === undefined)
    throw notFound('persons cannot sign in here: no OIDC provider is configured');
  const { location, loginId } = await ctx.personSignIn.start();
  res.writeHead(302, {
    location,
    'cache-control': 'no-store',
    'set-cookie': setCookie(LOGIN_COOKIE, loginId, {
      maxAge: 600,
      secure: ctx.publicUrl().startsWith('https:'),
      sameSite: 'Lax',
    }),
  });
  res.end();
}

export async function finishOidc(
  ctx: DashboardContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (ctx.personSignIn === undefined)
    throw notFound('persons cannot sign in here: no OIDC provider is configured');
  const callback = new URL(`${url.pathname}${url.search}`, ctx.publicUrl());
  const person = await ctx.personSignIn.finish(cookie(req, LOGIN_COOKIE), callback);
  const session = ctx.sessions.create('person', person);
  const headers: OutgoingHttpHeaders = {
    ...securityHeaders(),
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'set-cookie': [
      sessionCookie(ctx, session.id),
      setCookie(LOGIN_COOKIE, '', { maxAge: 0, secure: false, sameSite: 'Lax' }),
    ],
  };
  res.writeHead(200, headers);
  res.end(
    '<!doctype html><html lang="en"><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/ui/">' +
      '<title>Signed in</title><p>Signed in. <a href="/ui/">Continue to the dashboard</a>.</p></html>',
  );
}
