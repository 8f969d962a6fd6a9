/**
 * Dashboard sessions, kept server-side in this control plane's memory: the browser holds only a random
 * session id in an HttpOnly, SameSite=Strict cookie (Secure when the control plane is reached over TLS).
 * A session has a role — `operator` (signed in with the admin credential) or `person` (signed in through
 * OIDC: `sub` and `iss`) — a CSRF token for the double-submit check, and an absolute expiry. Expired
 * sessions are dropped when read and swept on each sign-in.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type Role = 'operator' | 'person';

export interface Session {
  readonly id: string;
  readonly role: Role;
  /** A person's subject and issuer (the `person` of decision records); absent for an operator. */
  readonly person?: { readonly sub: string; readonly iss: string; readonly email?: string };
  /** Sent back in `X-CSRF-Token` on every state change (double submit, beside the Origin check). */
  readonly csrf: string;
  /** Epoch seconds. */
  readonly expires: number;
}

export const SESSION_COOKIE = 'warrant_ui';

/** At most this many live sessions; the oldest is dropped first. */
const MAX_SESSIONS = 10_000;

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(ttlSeconds: number, now: () => number) {
    this.#ttl = ttlSeconds;
    this.#now = now;
  }

  create(role: Role, person?: Session['person']): Session {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(id);
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      role,
      ...(person ? { person } : {}),
      csrf: randomBytes(24).toString('base64url'),
      expires: now + this.#ttl,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session named by the request's cookie, if any. */
  of(req: IncomingMessage): Session | undefined {
    const id = cookie(req, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expires <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  get ttl(): number {
    return this.#ttl;
  }
}

/** One cookie's value from the Cookie header (the first of that name). */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value: HttpOnly, Path=/ui, the given SameSite, Secure over TLS; `maxAge` 0 clears it. */
export function setCookie(
  name: string,
  value: string,
  options: { maxAge: number; secure: boolean; sameSite: 'Strict' | 'Lax' },
): string {
  return [
    `${name}=${value}`,
    'Path=/ui',
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    `Max-Age=${options.maxAge}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
