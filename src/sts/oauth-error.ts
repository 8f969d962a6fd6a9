import type { ErrorCode, WarrantError } from '../core/errors.ts';
import { tokenError } from '../http/error-table.ts';
import { ProtocolError } from '../http/protocol-error.ts';

/** The standard OAuth `error` values the STS answers with (RFC 6749, 7009, 7662, 8693, 9449). */
export type OAuthErrorName =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'unsupported_token_type'
  | 'access_denied'
  | 'invalid_token'
  | 'not_found'
  | 'method_not_allowed'
  | 'server_error'
  | 'temporarily_unavailable';

const STATUS: Readonly<Record<OAuthErrorName, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  unsupported_token_type: 400,
  access_denied: 403,
  invalid_token: 401,
  not_found: 404,
  method_not_allowed: 405,
  server_error: 500,
  temporarily_unavailable: 503,
};

/**
 * A protocol failure answered to the client: the public `error` / `error_description`, plus the stable
 * Warrant `code`. The description names what is wrong and never echoes a token, key or assertion.
 */
export class OAuthError extends ProtocolError<OAuthErrorName> {
  constructor(
    error: OAuthErrorName,
    code: ErrorCode,
    description: string,
    options: { cause?: unknown; headers?: Record<string, string>; status?: number } = {},
  ) {
    super(options.status ?? STATUS[error], error, code, description, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
  }
}

/**
 * Maps a core error (token, chain, grant, DPoP, hot state) to the OAuth error a client should see: the
 * token face of src/http/error-table.ts where the code decides (DPoP proofs, grants, hot state), else
 * `fallback`, the error of the endpoint's context. A hot-state store that is down is the server's
 * trouble: 503 with `Retry-After`.
 */
export function fromWarrantError(
  error: WarrantError,
  fallback: OAuthErrorName = 'invalid_grant',
): OAuthError {
  if (error instanceof OAuthError) return error;
  const mapped = tokenError(error.code);
  if (mapped === undefined) return new OAuthError(fallback, error.code, error.message, { cause: error });
  return new OAuthError(mapped.error, error.code, error.message, {
    cause: error,
    status: mapped.status,
    ...(mapped.status === 503 ? { headers: { 'retry-after': '1' } } : {}),
  });
}
