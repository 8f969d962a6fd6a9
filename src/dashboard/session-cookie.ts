import type { DashboardContext } from './context.ts';
import { SESSION_COOKIE, setCookie } from './sessions.ts';

/** The session cookie: HttpOnly, SameSite=Strict, Path=/ui, Secure when the control plane is reached over TLS. */
export function sessionCookie(ctx: DashboardContext, id: string, maxAge = ctx.sessions.ttl): string {
  return setCookie(SESSION_COOKIE, id, {
    maxAge,
    secure: ctx.publicUrl().startsWith('https:'),
    sameSite: 'Strict',
  });
}
