import type { ServerResponse } from 'node:http';
import { type ErrorCode, WarrantError } from '../core/errors.ts';

export type GatewayErrorName =
  | 'invalid_request'
  | 'invalid_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'insufficient_scope'
  | 'access_denied'
  | 'not_found'
  | 'misdirected_request'
  | 'payload_too_large'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'unavailable';

/**
 * A refusal answered by the gateway: RFC 6750 / RFC 9449 `WWW-Authenticate` on 401 (and 403 for
 * insufficient_scope), a JSON body `{error, error_description, code}`; never a token or a stack.
 */
export class GatewayError extends WarrantError {
  readonly error: GatewayErrorName;
  readonly status: number;
  /** No credentials at all: the challenge carries no error code (RFC 6750 §3.1). */
  bare = false;

  constructor(
    status: number,
    error: GatewayErrorName,
    code: ErrorCode,
    description: string,
    options?: { cause?: unknown },
  ) {
    super(code, description, options);
    this.status = status;
    this.error = error;
  }
}

export function sendGatewayError(res: ServerResponse, e: GatewayError, resourceMetadata?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (e.status === 401 || e.error === 'insufficient_scope') {
    const description = e.message.replaceAll('"', "'").slice(0, 200);
    // RFC 6750 §3.1: a request with no credentials at all gets a challenge without an error code.
    const parts = e.bare
      ? ['algs="EdDSA ES256"']
      : [`error="${e.error}"`, `error_description="${description}"`, 'algs="EdDSA ES256"'];
    if (resourceMetadata) parts.push(`resource_metadata="${resourceMetadata}"`);
    headers['www-authenticate'] = `DPoP ${parts.join(', ')}`;
  }
  const body = JSON.stringify({ error: e.error, error_description: e.message, code: e.code });
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(e.status, headers);
  res.end(body);
}
