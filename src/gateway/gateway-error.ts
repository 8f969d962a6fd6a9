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
    return {
      jsonrpc: '2.0',
      id: this.jsonRpcId,
      error: { code: JSON_RPC_REFUSED, message: `${this.code}: ${this.message}`, data: body },
    };
  }

  /** The same refusal as a JSON-RPC error response to request `id` (protocol-native, DESIGN §7). */
  asJsonRpc(id: string | number | null): GatewayError {
    return new GatewayError(this.code, this.message, {
      ...(this.cause === undefined ? {} : { cause: this.cause }),
      ...(this.retryAfter === undefined ? {} : { retryAfter: this.retryAfter }),
      ...(this.data === undefined ? {} : { data: this.data }),
      jsonRpcId: id,
    });
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

/**
 * The JSON-RPC error code of a Warrant refusal on an `mcp` or `a2a` route (`error.data.code` says which):
 * a server-defined code (JSON-RPC 2.0 §5.1: -32000..-32099) that neither MCP (-32000 connection closed,
 * -32001 request timeout, -32002, -32042) nor A2A (-32001..-32009) gives a meaning of its own.
 */
export const JSON_RPC_REFUSED = -32060;

/** The `id` of a single JSON-RPC request body (`null` for a batch or anything unreadable). */
export function jsonRpcIdOf(body: Buffer | undefined): string | number | null {
  if (body === undefined) return null;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    const id = (parsed as { id?: unknown }).id;
    return typeof id === 'string' || typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
}

export function sendGatewayError(res: ServerResponse, e: GatewayError, resourceMetadata?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  // A JSON-RPC error response is a protocol answer: 200, so the SDKs read it as the request's error (the MCP
  // SDK treats any other status as a transport failure); the Warrant code is in `error.data`.
  const rpc = e.jsonRpcId !== undefined;
  // Answering one request (a batch's refusal has id null and keeps its HTTP status).
  const answersRequest = rpc && e.jsonRpcId !== null;
  if (!rpc && (e.status === 401 || e.error === 'insufficient_scope')) {
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
    !rpc && e.status === 401 && resourceMetadata
      ? [`Bearer resource_metadata="${resourceMetadata}"`, headers['www-authenticate']!]
      : undefined;
  if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
  const body = JSON.stringify(e.answer());
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(
    answersRequest ? 200 : e.status,
    challenges === undefined ? headers : { ...headers, 'www-authenticate': challenges },
  );
  res.end(body);
}
