import { type ErrorCode, WarrantError } from '../core/errors.ts';

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
export class OAuthError extends WarrantError {
  readonly error: OAuthErrorName;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    error: OAuthErrorName,
    code: ErrorCode,
    description: string,
    options: { cause?: unknown; headers?: Record<string, string>; status?: number } = {},
  ) {
    super(code, description, options.cause === undefined ? undefined : { cause: options.cause });
    this.error = error;
    this.status = options.status ?? STATUS[error];
    this.headers = options.headers ?? {};
  }

  body(): { error: OAuthErrorName; error_description: string; code: ErrorCode } {
    return { error: this.error, error_description: this.message, code: this.code };
  }
}

/** Maps a core error (token, chain, grant, DPoP) to the OAuth error a client should see. */
export function fromWarrantError(
  error: WarrantError,
  fallback: OAuthErrorName = 'invalid_grant',
): OAuthError {
  if (error instanceof OAuthError) return error;
  const code = error.code;
  // A hot-state store that is down is the server's trouble, not the client's: 503, retry.
  if (code === 'WARRANT_HOT_STATE_UNAVAILABLE')
    return new OAuthError('temporarily_unavailable', code, error.message, {
      cause: error,
      headers: { 'retry-after': '1' },
    });
  const name: OAuthErrorName =
    code.startsWith('WARRANT_DPOP_') || code === 'WARRANT_REPLAY_STATE_LOST'
      ? code === 'WARRANT_DPOP_NONCE_REQUIRED'
        ? 'use_dpop_nonce'
        : 'invalid_dpop_proof'
      : code === 'WARRANT_GRANT_NOT_HELD' || code === 'WARRANT_GRANT_INVALID'
        ? 'invalid_scope'
        : fallback;
  return new OAuthError(name, code, error.message, { cause: error });
}
