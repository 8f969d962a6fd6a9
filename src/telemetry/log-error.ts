/**
 * Errors in logs: with their Warrant `code` (and HTTP status when known), without a stack when they are
 * expected (a refusal: 4xx), with the stack and causes when they are not (5xx, bugs). Messages and stacks
 * never carry a JWT: any JWT-shaped text in them is replaced.
 */
import type { Logger } from 'pino';

/** Compact JWS (three base64url segments, the header starting `{"`), as in tokens, chains and proofs. */
const JWT = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

/** `text` with every JWT-shaped substring replaced by `[jwt]`. */
export function scrubTokens(text: string): string {
  return text.includes('eyJ') ? text.replace(JWT, '[jwt]') : text;
}

export interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly status?: number;
  readonly stack?: string;
  readonly cause?: SerializedError;
}

/**
 * The pino serializer for `err` and `error`. Expected errors (HTTP status 4xx, or a Warrant error with no
 * status) keep `type`, `code`, `status` and `message`; others add `stack` and their `cause` chain.
 */
export function serializeError(error: unknown, status?: number): SerializedError {
  if (serialized.has(error as object)) return error as SerializedError;
  const out = serialize(error, status, 0);
  serialized.add(out);
  return out;
}

/** Outputs of `serializeError`, passed through unchanged when pino applies the serializer to them. */
const serialized = new WeakSet<object>();

/** Expected errors are refusals: a 4xx status, or (no status known) a Warrant error. */
export function isExpectedError(error: unknown, status?: number): boolean {
  const e = error as { code?: unknown; status?: unknown } | null;
  const httpStatus = status ?? (typeof e?.status === 'number' ? e.status : undefined);
  if (httpStatus !== undefined) return httpStatus >= 400 && httpStatus < 500;
  return error instanceof Error && typeof e?.code === 'string' && e.code.startsWith('WARRANT_');
}

function serialize(error: unknown, status: number | undefined, depth: number): SerializedError {
  if (!(error instanceof Error)) return { type: typeof error, message: scrubTokens(String(error)) };
  const e = error as Error & { code?: unknown; status?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const httpStatus = status ?? (typeof e.status === 'number' ? e.status : undefined);
  const expected = isExpectedError(error, httpStatus);
  const out: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
    type: e.name,
    message: scrubTokens(e.message),
  };
  if (code !== undefined) out.code = code;
  if (httpStatus !== undefined) out.status = httpStatus;
  if (!expected) {
    if (e.stack !== undefined) out.stack = scrubTokens(e.stack);
    if (e.cause !== undefined && depth < 4) out.cause = serialize(e.cause, undefined, depth + 1);
  }
  return out;
}

/**
 * Logs `error` once: `info` when expected (4xx, or a Warrant error with no status), `error` otherwise.
 * `fields` are added to the line (e.g. `{ route, txn, traceId }`; never a token). `status` is the HTTP
 * status answered, when there is one; it decides whether the error was expected.
 */
export function logError(
  logger: Logger,
  error: unknown,
  fields: Readonly<Record<string, unknown>> & { readonly status?: number } = {},
): void {
  const err = serializeError(error, fields.status);
  if (isExpectedError(error, fields.status)) logger.info({ ...fields, err }, err.message);
  else logger.error({ ...fields, err }, err.message);
}
