/**
 * Reading the admin API's requests: a JSON object body (strict parser, 64 KiB), typed members with their
 * bounds, and one error for malformed input. Shared by the STS admin endpoints and those other parts add
 * (src/guard/admin/): every admin endpoint refuses bad input the same way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WarrantError } from '../core/errors.ts';
import { parseJsonObject } from '../core/jose/strict-json.ts';
import { readBody } from './http/respond.ts';
import { OAuthError } from './oauth-error.ts';

/**
 * An admin endpoint another part contributes (the guard's tools, breakers, budgets, trust): given the
 * authenticated request and its decoded path segments after `/admin/`, it answers and resolves `true` when
 * the path is its own, `false` to let the next one look.
 */
export type AdminExtension = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  parts: readonly string[],
) => Promise<boolean>;

export const bad = (message: string) =>
  new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', message);

export async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw bad('the body must be application/json');
  const body = await readBody(req, 64 * 1024);
  try {
    return parseJsonObject(body.toString('utf8'), 'body');
  } catch (error) {
    throw bad(error instanceof WarrantError ? error.message : 'the body is not a JSON object');
  }
}

export function str(body: Record<string, unknown>, name: string, fallback?: string): string {
  const v = body[name] ?? fallback;
  if (typeof v !== 'string' || v.length === 0 || v.length > 512)
    throw bad(`${name} must be a non-empty string`);
  return v;
}

export function int(body: Record<string, unknown>, name: string, fallback: number, max: number): number {
  const v = body[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
    throw bad(`${name} must be an integer in 0..${max}`);
  return v;
}

export function strings(body: Record<string, unknown>, name: string, fallback: string[]): string[] {
  const v = body[name] ?? fallback;
  if (
    !Array.isArray(v) ||
    v.length > 64 ||
    v.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 2048)
  ) {
    throw bad(`${name} must be an array of strings`);
  }
  return v as string[];
}
