/**
 * CSRF protection for every dashboard state change (any method but GET/HEAD): the session cookie is
 * SameSite=Strict, and the request must also (1) come from this origin — `Origin` equal to the control
 * plane's public origin or to the origin the request was addressed to, or, without `Origin`,
 * `Sec-Fetch-Site: same-origin` — and (2) carry the session's CSRF token in `X-CSRF-Token` (double submit:
 * the page reads it from /ui/api/me, which another site cannot read).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { csrfRefused } from './answers.ts';
import type { Session } from './sessions.ts';

/** Refuses a request that another site may have sent. `session` absent: the Origin check only (sign-in). */
export function checkSameOrigin(req: IncomingMessage, publicUrl: string, session?: Session): void {
  const origin = req.headers.origin;
  const allowed = new Set([new URL(publicUrl).origin]);
  const host = req.headers.host;
  if (host !== undefined) allowed.add(`http://${host}`).add(`https://${host}`);
  if (origin !== undefined) {
    if (!allowed.has(origin)) throw csrfRefused('the request comes from another origin');
  } else if (req.headers['sec-fetch-site'] !== 'same-origin') {
    throw csrfRefused('the request names no Origin');
  }
  if (session === undefined) return;
  const token = req.headers['x-csrf-token'];
  if (typeof token !== 'string') throw csrfRefused('the X-CSRF-Token header is missing');
  const a = Buffer.from(token);
  const b = Buffer.from(session.csrf);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw csrfRefused('the CSRF token does not match');
}
