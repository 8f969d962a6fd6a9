import type { ServerResponse } from 'node:http';
import { type ErrorCode, WarrantError } from '../core/errors.ts';
import { type ResourceErrorName, resourceError } from '../http/error-table.ts';
import { ProtocolError } from '../http/protocol-error.ts';
import { CredentialsMissingError } from '../verify/verify-presented.ts';

export type GatewayErrorName = ResourceErrorName;

/**
 * A refusal answered by the gateway: status and `error` from the code (src/http/error-table.ts, the
 * resource face), RFC 6750 / RFC 9449 `WWW-Authenticate` on 401 (and 403 insufficient_scope), a JSON body
 * `{error, error_description, code}`; never a token or a stack.
 */
export class GatewayError extends ProtocolError<ResourceErrorName> {
  /** No credentials at all: the challenge carries no error code (RFC 6750 §3.1). */
  readonly bare: boolean;
  /** Seconds the caller should wait (`Retry-After`), for refusals that end by themselves (429). */
  readonly retryAfter: number | undefined;
  /** Members added to the JSON body (e.g. `approval_id`, `approval_uri` of an `approval_required`). */
  readonly data: Readonly<Record<string, string>> | undefined;
  /**
   * Set on an MCP / A2A route for refusals the client must act on (approval required): the answer is a
   * JSON-RPC 2.0 error response to this request id, carrying the body above as `error.data`.
   */
  readonly jsonRpcId: string | number | null | undefined;

  constructor(
    code: ErrorCode,
    description: string,
    options: {
      cause?: unknown;
      bare?: boolean;
      retryAfter?: number | undefined;
      data?: Readonly<Record<string, string>>;
      jsonRpcId?: string | number | null;
    } = {},
  ) {
    const { status, error } = resourceError(code);
    super(status, error, code, description, options.cause === undefined ? {} : { cause: options.cause });
    this.bare = options.bare === true;
    this.retryAfter =
      options.retryAfter === undefined ? undefined : Math.max(1, Math.ceil(options.retryAfter));
    this.data = options.data;
    this.jsonRpcId = options.jsonRpcId;
  }

  /** The answer's JSON: the error body with its data, or (JSON-RPC) an error response carrying it. */
  answer(): unknown {
    const body = { ...this.body(), ...this.data };
    if (this.jsonRpcId === undefined) return body;
    // -32001: a server-defined error (JSON-RPC 2.0 §5.1 reserves -32000..-32099 for implementations).
    return { jsonrpc: '2.0', id: this.jsonRpcId, error: { code: -32001, message: this.message, data: body } };
  }

  /**
   * Any failure as the gateway answers it: a refusal as it is, a `WarrantError` by its code, anything
   * else (a bug, an unexpected failure) as 502 without detail.
   */
  static from(error: unknown): GatewayError {
    if (error instanceof GatewayError) return error;
    if (error instanceof WarrantError)
      return new GatewayError(error.code, error.message, {
        cause: error,
        bare: error instanceof CredentialsMissingError,
      });
    return new GatewayError('WARRANT_UPSTREAM_FAILED', 'the call could not be completed', { cause: error });
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
  // RFC 9449 §7.1 allows several challenges: on a 401, a `Bearer` challenge naming the RFC 9728 metadata
  // comes first, for clients that read only that scheme (the MCP SDK's discovery). The metadata says that
  // tokens must be DPoP-bound; a bearer token is still refused.
  const challenges: string[] | undefined =
    e.status === 401 && resourceMetadata
      ? [`Bearer resource_metadata="${resourceMetadata}"`, headers['www-authenticate']!]
      : undefined;
  if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
  const body = JSON.stringify(e.answer());
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(
    e.status,
    challenges === undefined ? headers : { ...headers, 'www-authenticate': challenges },
  );
  res.end(body);
}
