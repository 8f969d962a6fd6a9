/**
 * One access line per request, the same field set on every server. Only these fields are written, so a
 * header or a body can never slip in; the path loses its query string (where a careless client may put a
 * token) and a `tokenHash` that is not a SHA-256 base64url hash is dropped.
 */
import type { Logger } from 'pino';

export interface AccessLogFields {
  /** The route that matched (gateway: its path prefix; STS: the endpoint, e.g. `/token`). */
  readonly route?: string;
  readonly method: string;
  /** The request path; anything from `?` on is dropped. */
  readonly path: string;
  /** The HTTP status answered. */
  readonly status: number;
  /** The decision (`allow`, `deny`, `approval_required`, `contained`, `unauthenticated`) or the STS outcome. */
  readonly decision?: string;
  /** The Warrant error code of a refusal. */
  readonly code?: string;
  /** STS: the OAuth `error` of a refusal (`invalid_grant`, `invalid_client`, …). Not `error`: pino reads that as an Error. */
  readonly oauthError?: string;
  /** STS `/token`: the grant type, when supported (else `other`). */
  readonly grantType?: string;
  readonly latencyMs: number;
  readonly txn?: string;
  /** The token hash (SHA-256 base64url) of the presented warrant (leaf) or the issued token. */
  readonly tokenHash?: string;
  /** The W3C trace id of the request (also in the ledger record). */
  readonly traceId?: string;
}

const TOKEN_HASH = /^[\w-]{43}$/;

/** Writes the access line of one request at `info` (message `access`). */
export function accessLog(logger: Logger, fields: AccessLogFields): void {
  if (!logger.isLevelEnabled('info')) return;
  const query = fields.path.indexOf('?');
  logger.info(
    {
      route: fields.route,
      method: fields.method,
      path: query === -1 ? fields.path : fields.path.slice(0, query),
      status: fields.status,
      decision: fields.decision,
      code: fields.code,
      oauthError: fields.oauthError,
      grantType: fields.grantType,
      latencyMs: Math.round(fields.latencyMs * 1000) / 1000,
      txn: fields.txn,
      tokenHash:
        fields.tokenHash !== undefined && TOKEN_HASH.test(fields.tokenHash) ? fields.tokenHash : undefined,
      traceId: fields.traceId,
    },
    'access',
  );
}
