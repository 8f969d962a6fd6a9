/**
 * Calls to the dashboard's API (/ui/api/…): the session cookie goes along by itself (same origin); every
 * state change sends the session's CSRF token in X-CSRF-Token. A 401 sends the page to sign-in.
 */
import type { Me } from './types.ts';

let csrf = '';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    body = { error_description: text };
  }
  if (!response.ok) {
    const b = body as { code?: string; error_description?: string; error?: string };
    if (response.status === 401 && location.pathname !== '/ui/sign-in') {
      location.assign(`/ui/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    throw new ApiError(
      response.status,
      b.code ?? String(response.status),
      b.error_description ?? b.error ?? 'failed',
    );
  }
  return body as T;
}

export async function getJson<T>(path: string): Promise<T> {
  return answer<T>(await fetch(`/ui/api${path}`, { headers: { accept: 'application/json' } }));
}

export async function send<T>(method: 'POST' | 'PUT', path: string, body: unknown = {}): Promise<T> {
  return answer<T>(
    await fetch(`/ui/api${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    }),
  );
}

/** The session (and its CSRF token), or `null` when not signed in. */
export async function loadMe(): Promise<Me | null> {
  const response = await fetch('/ui/api/me');
  if (response.status === 401) return null;
  const me = await answer<Me>(response);
  csrf = me.csrf;
  return me;
}

export async function signInOperator(token: string): Promise<void> {
  await answer(
    await fetch('/ui/auth/operator', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    }),
  );
}

export async function signOut(): Promise<void> {
  await fetch('/ui/auth/sign-out', { method: 'POST', headers: { 'x-csrf-token': csrf } });
}

export function message(error: unknown): string {
  if (error instanceof ApiError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
