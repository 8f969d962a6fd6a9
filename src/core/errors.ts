/**
 * Typed errors with stable codes. Every code is listed in docs/errors.md; a test checks both ways.
 *
 * Messages never carry a token, a key or an assertion: at most a token hash, a claim name or a kid.
 */

export const ERROR_CODES = {
  // compact JWS
  WARRANT_JWS_MALFORMED:
    'The compact JWS is not three canonical base64url segments with JSON header and payload.',
  WARRANT_JWS_ALG_NOT_ALLOWED: 'The `alg` is not on the allowlist bound to the verification key.',
  WARRANT_JWS_HEADER_FORBIDDEN:
    'The header carries a key-locating parameter (`jwk`, `jku`, `x5u`, `x5c`, …) that is never honoured.',
  WARRANT_JWS_CRIT_UNSUPPORTED: 'The header lists a critical extension this verifier does not understand.',
  WARRANT_JWS_SIGNATURE_INVALID: 'The signature does not verify under the selected key.',
  // keys
  WARRANT_KEY_INVALID: 'A JWK is malformed, of an unsupported type, or does not match its algorithm.',
  WARRANT_KEY_UNKNOWN:
    'No key in the trusted key set has this `kid`, or the `kid` is not a RFC 7638 thumbprint.',
  // tokens and claims
  WARRANT_TOKEN_TYPE_MISMATCH: 'The `typ` header names another token kind than the one expected.',
  WARRANT_CLAIM_MISSING: 'A claim required for this token kind is absent.',
  WARRANT_CLAIM_INVALID: 'A claim has the wrong type or shape, or a claim of another token kind is present.',
  WARRANT_TOKEN_EXPIRED: 'The token is past its `exp`.',
  WARRANT_TOKEN_NOT_YET_VALID: 'The token is before its `nbf` (or issued in the future).',
  WARRANT_TOKEN_LIFETIME_EXCEEDED: 'The token lives longer than its kind allows.',
  WARRANT_ISSUER_MISMATCH: 'The `iss` is not the expected issuer.',
  WARRANT_AUDIENCE_MISMATCH: 'The `aud` is not this recipient.',
  WARRANT_CNF_MISMATCH: 'The presenter key does not match the token `cnf.jkt`.',
  WARRANT_CLAIM_UNKNOWN:
    'The token carries a top-level claim its kind does not define (warrant and identity claim sets are closed).',
  WARRANT_STATUS_MISSING:
    'The warrant carries no `status` claim, so its revocation could never be checked; it is refused.',
  // grants
  WARRANT_GRANT_INVALID: 'A grant or constraint is malformed.',
  WARRANT_GRANT_NOT_HELD: 'The requested grants are not within the grants held.',
  // chains
  WARRANT_CHAIN_MALFORMED: 'The chain is empty, too long, or not a comma-separated list of compact JWS.',
  WARRANT_CHAIN_LINK_BROKEN: 'A link `prev` (or `root`) is not the hash of the warrant before it.',
  WARRANT_CHAIN_ACTOR_MISMATCH:
    'A link actor is not the audience of the link before it, or the actor history was rewritten.',
  WARRANT_CHAIN_GRANT_WIDENED: 'A link holds grants that are not within the grants of the link before it.',
  WARRANT_CHAIN_LIFETIME_EXTENDED: 'A link lives longer than (or was issued before) the link before it.',
  WARRANT_CHAIN_CONTEXT_MISMATCH: 'Links disagree on `txn`, `sub`, `sub_iss` or `iss`.',
  WARRANT_CHAIN_DEPTH_EXCEEDED: 'A link is deeper than its depth budget, or depths do not count up by one.',
  WARRANT_CHAIN_DELEGATION_FORBIDDEN: 'The link before did not allow delegation to this audience.',
  // configuration
  WARRANT_CONFIG_INVALID: 'The configuration file does not match the schema.',
  // DPoP (RFC 9449)
  WARRANT_DPOP_INVALID:
    'The DPoP proof is malformed, has a wrong `typ`/`alg`/`jwk` header, a bad signature or invalid claims.',
  WARRANT_DPOP_HTM_MISMATCH: 'The DPoP proof `htm` is not the method of this request.',
  WARRANT_DPOP_HTU_MISMATCH:
    'The DPoP proof `htu` is not the URI of this request (compared without query and fragment), or it carries a query or fragment.',
  WARRANT_DPOP_STALE: 'The DPoP proof `iat` is outside the accepted window (too old or in the future).',
  WARRANT_DPOP_ATH_MISMATCH:
    'The DPoP proof `ath` is missing, unexpected, or not the hash of the presented access token.',
  WARRANT_DPOP_NONCE_REQUIRED:
    'The server requires a DPoP nonce and the proof has none or an expired one; retry with the nonce in the `DPoP-Nonce` header.',
  WARRANT_DPOP_KEY_MISMATCH: 'The DPoP proof key thumbprint is not the token `cnf.jkt`.',
  WARRANT_DPOP_REPLAYED: 'The DPoP proof `jti` was already used.',
  // storage (src/store)
  WARRANT_STORE_CONFLICT:
    'A record with this identifier (agent id, key thumbprint, token hash or `jti`, key `kid`) already exists.',
  WARRANT_STORE_NOT_FOUND: 'No record has this identifier.',
  WARRANT_STORE_SCHEMA_UNSUPPORTED:
    'The database schema is newer than this version of Warrant knows; upgrade Warrant before opening it.',
  // hot state (src/replay: the Redis replay cache shared by replicas)
  WARRANT_HOT_STATE_UNAVAILABLE:
    'The shared hot-state store (Redis) did not answer within its command timeout or is not connected; the request was refused (fail closed). Retry later.',
  WARRANT_BUS_MESSAGE_REJECTED:
    "A message between replicas (Redis pub/sub) was ignored: unsigned, not signed by this issuer's keys, outside the replay window or a repeated sequence number. Logged by the receiving replica, never sent to a client.",
  WARRANT_REPLAY_STATE_LOST:
    'The replay store lost its memory (Redis restarted, was flushed or evicted its keys) after this DPoP proof or client assertion became usable, so it cannot tell whether it was already used; refused. Send a new one.',
  // policy
  WARRANT_POLICY_INVALID:
    'A policy set or its schema does not parse, or a policy does not validate against the schema.',
  // gateway
  WARRANT_CREDENTIALS_MISSING:
    'The request carries no `Authorization: DPoP <warrant>` (bearer warrants are refused: they must be sender-constrained).',
  WARRANT_TOKEN_REVOKED: 'The warrant, or a link of its chain, is revoked.',
  WARRANT_TOKEN_REPLAYED: 'This single-use token (a Txn-Token `jti`) was already presented.',
  WARRANT_STATUS_STALE:
    'The gateway cannot confirm revocation status within its staleness bound, so it fails closed.',
  WARRANT_ROUTE_UNKNOWN: 'No gateway route matches this host and path.',
  WARRANT_ACTION_UNKNOWN: 'The call matches no action of the catalog; unknown actions are denied.',
  WARRANT_CALL_DENIED: 'The action policy denies this call.',
  WARRANT_SANDBOX_CONFLICT:
    'The calls of one request would go to different sandbox upstreams (the caller is below their trust levels); send them separately.',
  WARRANT_APPROVAL_REQUIRED:
    "A person must approve exactly this call first: it is above the calling agent's bound (bounded autonomy) or past a budget with `onExceed: approval`. The answer carries `approval_id` and `approval_uri`.",
  WARRANT_APPROVAL_NOT_FOUND: 'No approval has this id.',
  WARRANT_APPROVAL_INVALID:
    "The approval named (in the warrant's `apv` or an exchange's `approval_id`) is not for this call, this caller or this warrant, or cannot be checked here.",
  WARRANT_APPROVAL_EXPIRED:
    'The approval expired: unanswered past `guard.approvals.ttlSeconds`, or approved and not used within its window.',
  WARRANT_APPROVAL_DECIDED:
    'The approval was already decided (approved, denied, used or withdrawn): a decision is final.',
  WARRANT_APPROVAL_DENIED: 'The approval was denied; a denied approval stays denied.',
  WARRANT_APPROVAL_USED: 'The approval was already used: an approval lets exactly one call through.',
  WARRANT_APPROVAL_WITHDRAWN: 'The approval was withdrawn and can no longer be decided or used.',
  WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU:
    'The approval is addressed to another person (or to a group decided by an admin), or you own the requesting agent.',
  WARRANT_APPROVER_AUTH_FAILED:
    "The approver's credential (a person's ID token from a trusted OIDC issuer, addressed to the approvals audience) is missing or does not verify.",
  WARRANT_DASHBOARD_SIGN_IN_REQUIRED:
    'The dashboard request has no valid session (never signed in, signed out or expired): sign in again.',
  WARRANT_DASHBOARD_SIGN_IN_FAILED:
    'Signing in to the dashboard failed: a wrong admin credential, or the OIDC sign-in (state, PKCE, ID token) did not verify.',
  WARRANT_DASHBOARD_FORBIDDEN:
    "The dashboard session's role does not allow this: a person sees and decides only their own work and approvals.",
  WARRANT_DASHBOARD_CSRF:
    "A dashboard state change came from another site (Origin) or without the session's CSRF token: refused.",
  WARRANT_APPROVAL_STORE_UNAVAILABLE:
    'The approval store (the guard store) does not answer, so nothing above the bound can be approved or let through: fail closed.',
  WARRANT_DECISION_NOT_RECORDED: 'The decision could not be made durable, so the call was not forwarded.',
  WARRANT_BODY_TOO_LARGE: 'The request body is larger than the route allows.',
  WARRANT_UPSTREAM_FAILED: 'The upstream could not be reached or failed mid-response.',
  WARRANT_UPSTREAM_TIMEOUT: 'The upstream did not answer within the route timeout.',
  WARRANT_HOST_INVALID:
    'The request has no `Host`, more than one, or one that is not a host name or address with an optional port.',
  WARRANT_TARGET_INVALID:
    'The request target is not in origin form (`/path?query`): the absolute form (`http://host/path`) is for forward proxies, and the gateway is not one.',
  WARRANT_HOST_NOT_ALLOWED:
    'The `Host` is not one the route allows (its `allowedHosts`, or the gateway defaults).',
  WARRANT_ORIGIN_NOT_ALLOWED:
    'The browser `Origin` is neither the gateway itself nor one the route allows (its `allowedOrigins`), or it is repeated.',
  WARRANT_SIGNATURE_INVALID:
    'The RFC 9421 HTTP message signature is missing, malformed, or does not cover the required components.',
  WARRANT_PARAMETER_MISSING:
    'A constraint of the covering grant applies to a call parameter the request does not carry (catalog `parameters`).',
  WARRANT_PARAMETER_INVALID:
    'A call parameter is unreadable or ambiguous: wrong type (a number as a string), negative, a repeated query parameter or header, a body not (declared) JSON, a member name repeated in body or arguments, two A2A data parts.',
  WARRANT_CONSTRAINT_EXCEEDED: 'A call parameter is above the maximum (`max_*`) of the covering grant.',
  WARRANT_CONSTRAINT_NOT_ALLOWED:
    'A call parameter is outside the enumeration (or the `destination` patterns) of the covering grant.',
  WARRANT_CONSTRAINT_UNENFORCEABLE:
    'The covering grant constrains a value the catalog action does not locate (no `parameters` entry, not declared `in: none`), so the gateway cannot enforce it and denies.',
  // guard: budgets (src/guard/budgets)
  WARRANT_BUDGET_EXCEEDED:
    'The call would take a budget (`guard.budgets`: money, calls or LLM tokens per agent, person, txn or day) past its limit; refused and recorded with the budget, its limit, what was spent and what the call counts.',
  WARRANT_BUDGET_UNAVAILABLE:
    'The guard store that holds the spent budgets did not answer (or the gateway has no guard store while budgets are configured); the call was refused (fail closed). Retry later.',
  WARRANT_BUDGET_UNMETERED:
    'A budget applies to this call, but the call cannot be counted: a budgeted `amount` the catalog action does not locate, or a streamed LLM call that does not ask for its usage (`stream_options.include_usage`).',
  WARRANT_BREAKER_OPEN:
    'A circuit breaker of the call (agent, txn or agent→destination) is open; refused and recorded. The description names it and why; Retry-After: the rest of the cooldown, then a probe may pass. Reset: `warrant breaker reset`.',
  WARRANT_RATE_LIMITED:
    "The catalog action's rate limit for this agent is used up in the current window; refused and recorded. Retry after `Retry-After` seconds.",
  // security token service
  WARRANT_REQUEST_MALFORMED:
    'The request is malformed: wrong media type, bad encoding, a missing, repeated or oversized parameter.',
  WARRANT_GRANT_TYPE_UNSUPPORTED: 'The `grant_type` is not one this server supports.',
  WARRANT_TOKEN_TYPE_UNSUPPORTED:
    'The `subject_token_type` or `actor_token_type` is not one this server accepts.',
  WARRANT_CLIENT_AUTH_FAILED: 'Client authentication (`private_key_jwt` or an identity actor token) failed.',
  WARRANT_ASSERTION_REPLAYED: 'The client assertion (or ID-JAG) `jti` was already used.',
  WARRANT_AGENT_UNKNOWN: 'No agent is registered under this id.',
  WARRANT_AGENT_DISABLED: 'The agent is disabled and gets nothing.',
  WARRANT_AUDIENCE_NOT_ALLOWED:
    'The requested audience is not one this agent (or this token) may be issued for.',
  WARRANT_SUBJECT_TOKEN_INVALID:
    'The subject or assertion token does not verify, is expired, or is for another audience.',
  WARRANT_ISSUER_UNTRUSTED: 'The token issuer is not a configured trusted issuer for this grant.',
  WARRANT_CALLER_NOT_AUDIENCE: 'The caller is not the recipient (`aud`) of the warrant it tries to exchange.',
  WARRANT_PARENT_REVOKED: 'The warrant to exchange (or an ancestor) is revoked or unknown to this STS.',
  WARRANT_DELEGATION_DENIED: 'The delegation policy does not permit this delegation.',
  WARRANT_ADMIN_AUTH_FAILED: 'The admin credential is missing or wrong.',
  WARRANT_NOT_FOUND: 'No such endpoint or resource.',
  WARRANT_STS_UNAVAILABLE: 'A backing service (store, replay cache) failed; nothing was issued.',
  // persons' assertions (DESIGN §2): addressed to the agent that acts first
  WARRANT_ASSERTION_NOT_FOR_AGENT:
    "The person's assertion is addressed to another client: the ID token `aud` (or `azp`) is not the acting agent's client id at its issuer, or the ID-JAG `client_id` is not the acting agent.",
  WARRANT_AGENT_CLIENT_ID_MISSING:
    'The acting agent has no client id registered at the ID token issuer, so no ID token is addressed to it.',
  WARRANT_ASSERTION_AZP_INVALID:
    'The ID token has several audiences but no `azp`, or an `azp` that is not one of its audiences.',
  WARRANT_ASSERTION_KIND_NOT_ALLOWED:
    'The issuer is not configured to send this kind of person assertion (`assertions`: `id_token`, `id_jag`).',
  WARRANT_ASSERTION_TOO_OLD:
    "The person authenticated (`auth_time`, else `iat`) longer ago than the issuer's `maxAssertionAgeSeconds`.",
  WARRANT_MAY_ACT_MISMATCH:
    'The subject token carries `may_act` (RFC 8693 §4.4) and the agent exchanging it is not the party it names (or `may_act` is malformed).',
  // ledger (src/ledger)
  WARRANT_LEDGER_CORRUPT:
    'The stored ledger does not match its signed checkpoints (or a record its leaf hash); it is refused at open. The error names the first bad index.',
  WARRANT_LEDGER_CONFLICT:
    'An appended batch does not continue the stored log (another writer appended first), or a checkpoint contradicts the stored one of the same size.',
  WARRANT_LEDGER_WRITE_FAILED: 'The ledger store could not make the record durable; it was not appended.',
  WARRANT_LEDGER_CLOSED: 'The ledger is closed; nothing more is appended.',
  WARRANT_LEDGER_CHECKPOINT_INVALID:
    'The checkpoint (a C2SP signed note) is malformed, a signature by a known key does not verify, or fewer known keys than required signed it.',
  WARRANT_LEDGER_NOTE_KEY_INVALID:
    'A note key is unusable: a verifier key that is not `<name>+<8 hex key hash>+<base64 of 0x01 and the Ed25519 public key>` or whose key hash does not match, a key name that is empty or has spaces or `+`, or a signing key that is not Ed25519.',
  WARRANT_LEDGER_COSIGNATURE_INVALID:
    'A witness co-signature was refused: the checkpoint is malformed or of another log, no stored checkpoint has its size and root, or no signature line verifies with a configured witness key (`ledger.witnesses`).',
  WARRANT_LEDGER_TILE_NOT_FOUND:
    'No such tile, entry bundle or checkpoint in the log: the path is not a C2SP tlog-tiles path, or the log does not hold that tile (at that width) yet.',
  // audit (src/ledger/audit)
  WARRANT_AUDIT_QUERY_INVALID:
    'An audit query has a malformed field: a time that is not ISO 8601, a limit or index out of range, an empty or unknown value. The error names the field.',
  WARRANT_AUDIT_NOT_FOUND: 'No ledger record has this index, or no record belongs to this transaction.',
  WARRANT_AUDIT_EXPORT_MALFORMED:
    'A ledger export is not a readable export: not JSON Lines, a line over 1 MiB, a missing header, a member of the wrong type. The error names the line.',
  WARRANT_AUDIT_EXPORT_TAMPERED:
    'A ledger export does not verify: records changed, removed, reordered or inserted, or a checkpoint not signed by a trusted key or not matching the records. The error names the line.',
  WARRANT_AUDIT_PROOF_INVALID:
    'A record is not proven by the latest signed checkpoint: its inclusion proof does not verify, or the checkpoint signature does not.',
  WARRANT_AUDIT_NO_TRUST_ANCHOR:
    'A ledger export was verified without a trust anchor (a pinned `--key`, a `--trusted-checkpoint`, a checkpoint co-signed by a `--witness-key`), or the anchors vouch for only part of it: the file only proves it agrees with itself.',
  WARRANT_AUDIT_EXPORT_ROLLED_BACK:
    'A ledger export ends before a checkpoint the verifier trusts: the log was rolled back to an earlier size, or the export is older than that checkpoint.',
  WARRANT_AUDIT_EXPORT_FORKED:
    'A ledger export is not consistent with a checkpoint the verifier trusts (the RFC 9162 consistency proof fails): its records up to that size have another root, so the log forked or was rewritten.',
  // pinned tools (guard)
  WARRANT_TOOL_QUARANTINED:
    "The tool's (A2A skill's) definition changed after it was approved; it is hidden and refused until an operator approves the new definition.",
  WARRANT_TOOL_NOT_APPROVED:
    "The route pins its tools and this tool's definition is not approved (never seen, pending, or revoked).",
  WARRANT_TOOL_PINS_UNAVAILABLE:
    'The route pins its tools and the pins cannot be read or written (the guard store is down), so the gateway fails closed.',
  WARRANT_TOOL_UNKNOWN: 'No definition of this tool was seen on this route, or the route pins no tools.',
  WARRANT_TOOL_DIGEST_MISMATCH:
    'The digest to approve is not the definition the server shows now (list the tools again and review what changed).',
  // containment (warrant contain)
  WARRANT_CONTAIN_TARGET_UNKNOWN:
    'The warrant, transaction, agent or person to contain is unknown to the STS and the ledger; nothing was changed.',
  WARRANT_CONTAIN_UNAVAILABLE:
    'Containment cannot read the ledger or write the guard store now; retry (a run is resumable and never compensates twice).',
  // federation (DESIGN §11, docs/guide-federation.md)
  WARRANT_PEER_UNKNOWN:
    'A warrant in the chain is from an issuer that is not a configured trusted peer (`federation.peers`).',
  WARRANT_PEER_CHAIN_REQUIRED:
    "A peer's warrant was presented without its whole chain (as the `subject_token`, comma-separated root to leaf, or in `Warrant-Chain`).",
  WARRANT_PEER_CHAIN_INVALID:
    "A chain crosses trust boundaries other than once from one configured peer into this deployment, or its last link is not this deployment's.",
  WARRANT_PEER_AUDIENCE_NOT_ALLOWED:
    "The peer's last link is addressed to a recipient the peer may not send to (`federation.peers[].audiences`).",
  WARRANT_PEER_GRANT_EXCEEDED:
    "The peer's last link carries grants beyond what the peer may send (`federation.peers[].grants`).",
  WARRANT_PEER_DEPTH_EXCEEDED:
    "The peer's chain is deeper than the peer may send (`federation.peers[].maxDepth`).",
  WARRANT_PEER_LIFETIME_EXCEEDED:
    "The peer's last link lives longer than the peer may send (`federation.peers[].maxLifetimeSeconds`).",
  WARRANT_PEER_TRUST_DOMAIN_MISMATCH:
    "An actor of the peer's links is not in the peer's SPIFFE trust domain (`federation.peers[].trustDomain`).",
  WARRANT_PEER_CHAIN_REVOKED: "A link of the peer's chain (its root, or any hop) is revoked at the peer.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class WarrantError extends Error {
  readonly code: ErrorCode;
  override name = 'WarrantError';

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code], options);
    this.code = code;
    this.name = new.target.name;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The JWS is unreadable, uses a forbidden header or algorithm, or its signature fails. */
export class JwsError extends WarrantError {}

/** A key is malformed or unknown. */
export class KeyError extends WarrantError {}

/** A token is readable but its claims or times are not acceptable. */
export class TokenError extends WarrantError {}

/** A grant is malformed, or a request is not within what is held. */
export class GrantError extends WarrantError {}

/** A delegation chain breaks one of the DESIGN §3 rules. Carries the index of the offending link. */
export class ChainError extends WarrantError {
  readonly link: number;
  constructor(code: ErrorCode, link: number, message?: string, options?: { cause?: unknown }) {
    super(
      code,
      message === undefined ? `link ${link}: ${ERROR_CODES[code]}` : `link ${link}: ${message}`,
      options,
    );
    this.link = link;
  }
}

/** The configuration does not validate; `path` is the JSON pointer of the failing option. */
export class ConfigError extends WarrantError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('WARRANT_CONFIG_INVALID', `${path || '/'}: ${message}`);
    this.path = path;
  }
}

export function isWarrantError(value: unknown): value is WarrantError {
  return value instanceof WarrantError;
}
