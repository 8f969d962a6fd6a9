/**
 * How each Warrant error code is answered over HTTP — one table for every server. A code has two faces:
 *
 * - `resource`: how a protected resource answers it (the gateway, a receiver of warrants, the admin API):
 *   RFC 6750 §3.1 and RFC 9449 §7 names, 401 for credentials, 403 for authority, 503 when the server
 *   cannot check and fails closed.
 * - `token`: how the authorization server answers it at its OAuth endpoints (the STS): RFC 6749 §5.2,
 *   RFC 8693 and RFC 9449 §5 names. Absent where the code alone does not decide: the endpoint's context
 *   does (a subject token that fails is `invalid_grant`, a client assertion `invalid_client`, …).
 *
 * A new code in src/core/errors.ts needs its row here (the type says so), like its line in docs/errors.md.
 */
import type { ErrorCode } from '../core/errors.ts';

/** The `error` values a protected resource answers with. */
export type ResourceErrorName =
  | 'invalid_request'
  | 'invalid_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'insufficient_scope'
  | 'access_denied'
  | 'not_found'
  | 'misdirected_request'
  | 'payload_too_large'
  | 'too_many_requests'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'unavailable'
  | 'server_error';

/** The `error` values the table gives the token endpoint (a subset of the STS's OAuth error names). */
export type TokenErrorName =
  | 'invalid_request'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_scope'
  | 'temporarily_unavailable';

export interface HttpError<Name extends string> {
  readonly status: number;
  readonly error: Name;
}

export interface ErrorMapping {
  readonly resource: HttpError<ResourceErrorName>;
  readonly token?: HttpError<TokenErrorName>;
}

const row = (status: number, error: ResourceErrorName, token?: HttpError<TokenErrorName>): ErrorMapping =>
  Object.freeze(
    token === undefined ? { resource: { status, error } } : { resource: { status, error }, token },
  );

/** A token, a chain link or a signature that does not verify. */
const BAD_TOKEN = row(401, 'invalid_token');
/** A DPoP proof that does not verify (a new proof will do). */
const BAD_PROOF = row(401, 'invalid_dpop_proof', { status: 400, error: 'invalid_dpop_proof' });
/** Authority the warrant does not hold. */
const OUT_OF_SCOPE = row(403, 'insufficient_scope');
/** Refused by policy, catalog or the request's own parameters. */
const DENIED = row(403, 'access_denied');
/** A request that is malformed whatever it presents. */
const MALFORMED = row(400, 'invalid_request');
/** The server cannot check or record now: it fails closed; retry later. */
const UNAVAILABLE = row(503, 'unavailable');
/** The server's own fault (configuration, stored data). */
const INTERNAL = row(500, 'server_error');

export const HTTP_ERRORS: { readonly [C in ErrorCode]: ErrorMapping } = Object.freeze({
  // compact JWS and keys
  WARRANT_JWS_MALFORMED: BAD_TOKEN,
  WARRANT_JWS_ALG_NOT_ALLOWED: BAD_TOKEN,
  WARRANT_JWS_HEADER_FORBIDDEN: BAD_TOKEN,
  WARRANT_JWS_CRIT_UNSUPPORTED: BAD_TOKEN,
  WARRANT_JWS_SIGNATURE_INVALID: BAD_TOKEN,
  WARRANT_KEY_INVALID: BAD_TOKEN,
  WARRANT_KEY_UNKNOWN: BAD_TOKEN,
  // tokens and claims
  WARRANT_TOKEN_TYPE_MISMATCH: BAD_TOKEN,
  WARRANT_CLAIM_MISSING: BAD_TOKEN,
  WARRANT_CLAIM_INVALID: BAD_TOKEN,
  WARRANT_TOKEN_EXPIRED: BAD_TOKEN,
  WARRANT_TOKEN_NOT_YET_VALID: BAD_TOKEN,
  WARRANT_TOKEN_LIFETIME_EXCEEDED: BAD_TOKEN,
  WARRANT_ISSUER_MISMATCH: BAD_TOKEN,
  WARRANT_AUDIENCE_MISMATCH: BAD_TOKEN,
  WARRANT_CNF_MISMATCH: BAD_TOKEN,
  WARRANT_CLAIM_UNKNOWN: BAD_TOKEN,
  WARRANT_STATUS_MISSING: BAD_TOKEN,
  // grants: a malformed grant is a bad token to a resource, a bad scope to the token endpoint
  WARRANT_GRANT_INVALID: row(401, 'invalid_token', { status: 400, error: 'invalid_scope' }),
  WARRANT_GRANT_NOT_HELD: row(403, 'insufficient_scope', { status: 400, error: 'invalid_scope' }),
  // chains
  WARRANT_CHAIN_MALFORMED: BAD_TOKEN,
  WARRANT_CHAIN_LINK_BROKEN: BAD_TOKEN,
  WARRANT_CHAIN_ACTOR_MISMATCH: BAD_TOKEN,
  WARRANT_CHAIN_GRANT_WIDENED: BAD_TOKEN,
  WARRANT_CHAIN_LIFETIME_EXTENDED: BAD_TOKEN,
  WARRANT_CHAIN_CONTEXT_MISMATCH: BAD_TOKEN,
  WARRANT_CHAIN_DEPTH_EXCEEDED: BAD_TOKEN,
  WARRANT_CHAIN_DELEGATION_FORBIDDEN: BAD_TOKEN,
  WARRANT_CONFIG_INVALID: INTERNAL,
  // DPoP (RFC 9449): 401 at a resource (§7), 400 at the token endpoint (§5)
  WARRANT_DPOP_INVALID: BAD_PROOF,
  WARRANT_DPOP_HTM_MISMATCH: BAD_PROOF,
  WARRANT_DPOP_HTU_MISMATCH: BAD_PROOF,
  WARRANT_DPOP_STALE: BAD_PROOF,
  WARRANT_DPOP_ATH_MISMATCH: BAD_PROOF,
  WARRANT_DPOP_NONCE_REQUIRED: row(401, 'use_dpop_nonce', { status: 400, error: 'use_dpop_nonce' }),
  WARRANT_DPOP_KEY_MISMATCH: BAD_PROOF,
  WARRANT_DPOP_REPLAYED: BAD_PROOF,
  // storage
  WARRANT_STORE_CONFLICT: INTERNAL,
  WARRANT_STORE_NOT_FOUND: INTERNAL,
  WARRANT_STORE_SCHEMA_UNSUPPORTED: INTERNAL,
  // hot state: the server's trouble (503, fail closed); a replay memory lost refuses the proof itself
  WARRANT_HOT_STATE_UNAVAILABLE: row(503, 'unavailable', { status: 503, error: 'temporarily_unavailable' }),
  WARRANT_BUS_MESSAGE_REJECTED: INTERNAL,
  WARRANT_REPLAY_STATE_LOST: BAD_PROOF,
  WARRANT_POLICY_INVALID: INTERNAL,
  // gateway
  WARRANT_CREDENTIALS_MISSING: BAD_TOKEN,
  WARRANT_TOKEN_REVOKED: BAD_TOKEN,
  WARRANT_TOKEN_REPLAYED: BAD_TOKEN,
  WARRANT_STATUS_STALE: UNAVAILABLE,
  WARRANT_ROUTE_UNKNOWN: row(404, 'not_found'),
  WARRANT_ACTION_UNKNOWN: DENIED,
  WARRANT_CALL_DENIED: DENIED,
  WARRANT_SANDBOX_CONFLICT: DENIED,
  WARRANT_APPROVAL_REQUIRED: DENIED,
  WARRANT_APPROVAL_NOT_FOUND: row(404, 'not_found'),
  WARRANT_APPROVAL_INVALID: DENIED,
  WARRANT_APPROVAL_EXPIRED: DENIED,
  WARRANT_APPROVAL_DECIDED: DENIED,
  WARRANT_APPROVAL_DENIED: DENIED,
  WARRANT_APPROVAL_USED: DENIED,
  WARRANT_APPROVAL_WITHDRAWN: DENIED,
  WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU: DENIED,
  WARRANT_APPROVER_AUTH_FAILED: BAD_TOKEN,
  WARRANT_DASHBOARD_SIGN_IN_REQUIRED: BAD_TOKEN,
  WARRANT_DASHBOARD_SIGN_IN_FAILED: BAD_TOKEN,
  WARRANT_DASHBOARD_FORBIDDEN: DENIED,
  WARRANT_DASHBOARD_CSRF: DENIED,
  WARRANT_APPROVAL_STORE_UNAVAILABLE: UNAVAILABLE,
  WARRANT_DECISION_NOT_RECORDED: UNAVAILABLE,
  WARRANT_BODY_TOO_LARGE: row(413, 'payload_too_large'),
  WARRANT_UPSTREAM_FAILED: row(502, 'bad_gateway'),
  WARRANT_UPSTREAM_TIMEOUT: row(504, 'gateway_timeout'),
  WARRANT_HOST_INVALID: MALFORMED,
  WARRANT_TARGET_INVALID: MALFORMED,
  WARRANT_HOST_NOT_ALLOWED: row(421, 'misdirected_request'),
  WARRANT_ORIGIN_NOT_ALLOWED: DENIED,
  WARRANT_SIGNATURE_INVALID: BAD_TOKEN,
  WARRANT_PARAMETER_MISSING: DENIED,
  WARRANT_PARAMETER_INVALID: DENIED,
  WARRANT_CONSTRAINT_EXCEEDED: OUT_OF_SCOPE,
  WARRANT_CONSTRAINT_NOT_ALLOWED: OUT_OF_SCOPE,
  WARRANT_CONSTRAINT_UNENFORCEABLE: DENIED,
  WARRANT_BUDGET_EXCEEDED: DENIED,
  WARRANT_BUDGET_UNAVAILABLE: UNAVAILABLE,
  WARRANT_BUDGET_UNMETERED: DENIED,
  // guard containment: the caller (its agent, txn, destination) must slow down or wait — the server is
  // fine, so 429 with Retry-After, never 503 (which load balancers and health checks read as "down")
  WARRANT_BREAKER_OPEN: row(429, 'too_many_requests'),
  WARRANT_RATE_LIMITED: row(429, 'too_many_requests'),
  // security token service
  WARRANT_REQUEST_MALFORMED: row(400, 'invalid_request', { status: 400, error: 'invalid_request' }),
  WARRANT_GRANT_TYPE_UNSUPPORTED: MALFORMED,
  WARRANT_TOKEN_TYPE_UNSUPPORTED: MALFORMED,
  WARRANT_CLIENT_AUTH_FAILED: BAD_TOKEN,
  WARRANT_ASSERTION_REPLAYED: BAD_TOKEN,
  WARRANT_AGENT_UNKNOWN: BAD_TOKEN,
  WARRANT_AGENT_DISABLED: DENIED,
  WARRANT_AUDIENCE_NOT_ALLOWED: DENIED,
  WARRANT_SUBJECT_TOKEN_INVALID: BAD_TOKEN,
  WARRANT_ISSUER_UNTRUSTED: BAD_TOKEN,
  WARRANT_CALLER_NOT_AUDIENCE: DENIED,
  WARRANT_PARENT_REVOKED: BAD_TOKEN,
  WARRANT_DELEGATION_DENIED: DENIED,
  WARRANT_ADMIN_AUTH_FAILED: BAD_TOKEN,
  WARRANT_NOT_FOUND: row(404, 'not_found'),
  WARRANT_STS_UNAVAILABLE: UNAVAILABLE,
  // persons' assertions
  WARRANT_ASSERTION_NOT_FOR_AGENT: BAD_TOKEN,
  WARRANT_AGENT_CLIENT_ID_MISSING: BAD_TOKEN,
  WARRANT_ASSERTION_AZP_INVALID: BAD_TOKEN,
  WARRANT_ASSERTION_KIND_NOT_ALLOWED: BAD_TOKEN,
  WARRANT_ASSERTION_TOO_OLD: BAD_TOKEN,
  WARRANT_MAY_ACT_MISMATCH: DENIED,
  // ledger: a write that cannot be made is the server's trouble; a store that does not verify its fault
  WARRANT_LEDGER_CORRUPT: INTERNAL,
  WARRANT_LEDGER_CONFLICT: UNAVAILABLE,
  WARRANT_LEDGER_WRITE_FAILED: UNAVAILABLE,
  WARRANT_LEDGER_CLOSED: UNAVAILABLE,
  WARRANT_LEDGER_CHECKPOINT_INVALID: INTERNAL,
  WARRANT_LEDGER_NOTE_KEY_INVALID: INTERNAL,
  WARRANT_LEDGER_COSIGNATURE_INVALID: MALFORMED,
  WARRANT_LEDGER_TILE_NOT_FOUND: row(404, 'not_found'),
  // audit queries and exports (the ledger API)
  WARRANT_AUDIT_QUERY_INVALID: MALFORMED,
  WARRANT_AUDIT_NOT_FOUND: row(404, 'not_found'),
  WARRANT_AUDIT_EXPORT_MALFORMED: MALFORMED,
  WARRANT_AUDIT_EXPORT_TAMPERED: MALFORMED,
  WARRANT_AUDIT_PROOF_INVALID: MALFORMED,
  WARRANT_AUDIT_NO_TRUST_ANCHOR: MALFORMED,
  WARRANT_AUDIT_EXPORT_ROLLED_BACK: MALFORMED,
  WARRANT_AUDIT_EXPORT_FORKED: MALFORMED,
  // pinned tools (guard)
  WARRANT_TOOL_QUARANTINED: DENIED,
  WARRANT_TOOL_NOT_APPROVED: DENIED,
  WARRANT_TOOL_PINS_UNAVAILABLE: UNAVAILABLE,
  WARRANT_TOOL_UNKNOWN: MALFORMED,
  WARRANT_TOOL_DIGEST_MISMATCH: MALFORMED,
  // containment
  WARRANT_CONTAIN_TARGET_UNKNOWN: row(404, 'not_found'),
  WARRANT_CONTAIN_UNAVAILABLE: UNAVAILABLE,
  // federation
  WARRANT_PEER_UNKNOWN: BAD_TOKEN,
  WARRANT_PEER_CHAIN_REQUIRED: BAD_TOKEN,
  WARRANT_PEER_CHAIN_INVALID: BAD_TOKEN,
  WARRANT_PEER_AUDIENCE_NOT_ALLOWED: BAD_TOKEN,
  WARRANT_PEER_GRANT_EXCEEDED: BAD_TOKEN,
  WARRANT_PEER_DEPTH_EXCEEDED: BAD_TOKEN,
  WARRANT_PEER_LIFETIME_EXCEEDED: BAD_TOKEN,
  WARRANT_PEER_TRUST_DOMAIN_MISMATCH: BAD_TOKEN,
  WARRANT_PEER_CHAIN_REVOKED: BAD_TOKEN,
});

/** How a protected resource answers `code`. */
export function resourceError(code: ErrorCode): HttpError<ResourceErrorName> {
  return HTTP_ERRORS[code].resource;
}

/** How the token endpoint answers `code`, when the code alone decides; else `undefined`. */
export function tokenError(code: ErrorCode): HttpError<TokenErrorName> | undefined {
  return HTTP_ERRORS[code].token;
}
