/**
 * The STS storage ports (DESIGN §1: every storage need behind a port, one contract suite per adapter).
 *
 * Every time is in epoch seconds (integers). Lookups resolve `null` when nothing matches; mutations of a
 * record that does not exist reject with `StoreNotFoundError`, duplicates with `StoreConflictError`;
 * caller mistakes (wrong types, bad limits) are `TypeError`s. Adapters never log, and never put key
 * material or token text in an error message.
 */

/** Epoch seconds; adapters floor what the clock returns. */
export type Clock = () => number;

/** A JSON object as stored (JWKs, JWKS, issuer mappings). Round-trips through `JSON.stringify`. */
export type JsonObject = Readonly<Record<string, unknown>>;

// ─── agents ──────────────────────────────────────────────────────────────────────────────────────────

export type AgentStatus = 'active' | 'disabled';

/** A key an agent rotated away from, still accepted until `until` (exclusive). */
export interface PreviousAgentKey {
  jwk: JsonObject;
  jkt: string;
  until: number;
}

export interface AgentRecord {
  /** SPIFFE ID, `spiffe://<trust-domain>/agent/<name>`. */
  id: string;
  name: string;
  owner: string;
  tier: string;
  trustLevel: number;
  allowedAudiences: string[];
  maxDepth: number;
  status: AgentStatus;
  publicJwk: JsonObject;
  /** RFC 7638 thumbprint of `publicJwk`; unique across every agent's current and previous keys. */
  jkt: string;
  /** Oldest first. Keys past `until` are pruned at the next rotation and never matched by thumbprint. */
  previousKeys: PreviousAgentKey[];
  /**
   * The agent's client id at each OpenID provider (issuer → client id): a person's ID token roots a warrant
   * for this agent only when it is addressed to that client id. A `(issuer, client id)` pair belongs to at
   * most one agent.
   */
  clientIds: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

/**
 * What `create` takes: the store sets `previousKeys: []`, `createdAt` and `updatedAt`; `status` defaults to
 * active, `clientIds` to none.
 */
export type NewAgent = Omit<
  AgentRecord,
  'previousKeys' | 'createdAt' | 'updatedAt' | 'status' | 'clientIds'
> & {
  status?: AgentStatus;
  clientIds?: Record<string, string>;
};

/** The metadata `update` may change; absent fields stay as they are (`clientIds` is replaced whole). */
export type AgentPatch = Partial<
  Pick<AgentRecord, 'name' | 'owner' | 'tier' | 'trustLevel' | 'allowedAudiences' | 'maxDepth' | 'clientIds'>
>;

export interface AgentListQuery {
  status?: AgentStatus;
  /** 1..1000. */
  limit: number;
  /** Keyset cursor: the `next` of the previous page (ids sort by code point). */
  after?: string;
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next page, `null` on the last one. */
  next: string | null;
}

export interface AgentStore {
  /**
   * Rejects with `StoreConflictError` when the id, the key thumbprint, or one of the `(issuer, client id)`
   * pairs is already registered; nothing is stored then.
   */
  create(agent: NewAgent): Promise<AgentRecord>;
  get(id: string): Promise<AgentRecord | null>;
  /** The agent whose client id at `issuer` is `clientId`. */
  getByClientId(issuer: string, clientId: string): Promise<AgentRecord | null>;
  /** The agent whose current key, or a previous key still within its overlap, has this thumbprint. */
  getByKeyThumbprint(jkt: string): Promise<AgentRecord | null>;
  list(query: AgentListQuery): Promise<Page<AgentRecord>>;
  setStatus(id: string, status: AgentStatus): Promise<AgentRecord>;
  /**
   * Makes `newJwk` the current key; the old one stays a previous key until `overlapUntil` (exclusive).
   * Rejects with `StoreConflictError` when `newJkt` is registered anywhere already.
   */
  rotateKey(id: string, newJwk: JsonObject, newJkt: string, overlapUntil: number): Promise<AgentRecord>;
  /** Rejects with `StoreConflictError` (changing nothing) when a new client id pair belongs to another agent. */
  update(id: string, patch: AgentPatch): Promise<AgentRecord>;
}

// ─── issued tokens ───────────────────────────────────────────────────────────────────────────────────

export type TokenKind = 'identity' | 'warrant';

/** One token the STS issued. Never the token text: its hash (SHA-256 of the compact JWS, base64url). */
export interface IssuedToken {
  hash: string;
  jti: string;
  kind: TokenKind;
  /** The parent warrant's hash; `null` for identity tokens and root warrants. */
  parentHash: string | null;
  rootHash: string | null;
  txn: string | null;
  /** The person at the root (warrants) or the agent (identity tokens). */
  sub: string;
  /**
   * Every agent in the actor chain, outermost (current holder) first. Identity tokens list their agent.
   * Revocation by agent matches any position.
   */
  actors: string[];
  audience: string;
  grantsJson: string | null;
  policyVersion: string | null;
  statusList: string | null;
  statusIdx: number | null;
  iat: number;
  exp: number;
  revokedAt: number | null;
  revokeReason: string | null;
}

export type RevokeSelector = { hash: string } | { txn: string } | { agentId: string } | { sub: string };

/** A token `revoke` turned from live to revoked, with the status-list slot whose bit it set. */
export interface RevokedToken {
  hash: string;
  statusList: string | null;
  statusIdx: number | null;
}

export interface TokenStore {
  /**
   * Records an issued token; rejects with `StoreConflictError` on a known hash or `jti`. When the parent
   * is revoked already (a revocation raced the exchange) the token is recorded revoked with the parent's
   * time and reason, so a cascade never misses a child. Resolves the token as stored. A stored token that
   * is revoked always has its status bit set, in the same transaction.
   */
  record(token: IssuedToken): Promise<IssuedToken>;
  get(hash: string): Promise<IssuedToken | null>;
  getByJti(jti: string): Promise<IssuedToken | null>;
  /** Direct children, by `iat` then hash. */
  children(hash: string): Promise<IssuedToken[]>;
  /** Every descendant at any depth (not the token itself), by `iat` then hash. */
  descendants(hash: string): Promise<IssuedToken[]>;
  /**
   * Revokes every token the selector matches and every descendant of each, and sets their status bits,
   * in one transaction. Resolves only the tokens this call revoked (already-revoked ones are left as
   * they were and not repeated).
   */
  revoke(selector: RevokeSelector, reason: string, at: number): Promise<RevokedToken[]>;
  /** `null` when the hash is unknown: callers decide how to fail closed. */
  isRevoked(hash: string): Promise<boolean | null>;
  /** Every token of a transaction, by `iat` then hash. */
  listByTxn(txn: string): Promise<IssuedToken[]>;
  /**
   * Every unrevoked token with `exp > now`, by `iat` then hash (for re-checking live warrants after a
   * policy change). Bounded by issue rate × longest lifetime; an admin operation, not a hot path.
   */
  listLive(now: number): Promise<IssuedToken[]>;
}

// ─── status lists (draft-ietf-oauth-status-list, 1 bit per token) ────────────────────────────────────

export interface StatusListSnapshot {
  /** Bit `i` is `(bits[i >> 3] >> (i & 7)) & 1` (LSB first); `bits.length === Math.ceil(size / 8)`. */
  bits: Uint8Array;
  /** Indices handed out so far (raised by `set` when it touches a higher index). */
  size: number;
  /** Increments whenever a bit changes; publishers cache the signed list by `(version, size)`. */
  version: number;
}

export interface StatusListStore {
  /**
   * Reserves the next `count` (default 1, at most 65536) unused indices of the list, creating it at 0;
   * resolves the first. Atomic under concurrency. An issuer may reserve a block and hand it out from
   * memory: indices lost on a restart simply stay unused.
   */
  allocate(listId: string, count?: number): Promise<number>;
  /** Sets (value 1) or clears (value 0) the bits of `indices`. */
  set(listId: string, indices: readonly number[], value?: 0 | 1): Promise<void>;
  get(listId: string): Promise<StatusListSnapshot | null>;
}

// ─── STS signing keys ────────────────────────────────────────────────────────────────────────────────

export type SigningKeyState = 'current' | 'previous';

export interface StoredSigningKey {
  kid: string;
  alg: string;
  /** Opaque to the store (the caller encrypts it or not); never logged, never in an error. */
  material: string;
  state: SigningKeyState;
  createdAt: number;
  retireAt: number | null;
}

export interface KeyStore {
  /** Rejects with `StoreConflictError` on a known `kid`. */
  save(key: StoredSigningKey): Promise<void>;
  /** By `createdAt` then `kid`. */
  list(): Promise<StoredSigningKey[]>;
  setState(kid: string, state: SigningKeyState, retireAt: number | null): Promise<void>;
}

// ─── single-use identifiers ──────────────────────────────────────────────────────────────────────────

export interface ReplayStore {
  /**
   * `true` the first time `(namespace, id)` is seen or once its earlier record has expired (now ≥ its
   * `expiresAt`), `false` while it is live. Fractional expiries are rounded up. Expired records are purged
   * lazily.
   */
  consume(namespace: string, id: string, expiresAt: number): Promise<boolean>;
}

// ─── trusted issuers added at runtime ────────────────────────────────────────────────────────────────

export type IssuerKind = 'oidc' | 'kubernetes' | 'spiffe';

/** Persons' assertions an OIDC issuer may send (configuration `assertions`). */
export type AssertionKind = 'id_token' | 'id_jag';

export interface IssuerRecord {
  issuer: string;
  kind: IssuerKind;
  audience: string;
  jwksUri: string | null;
  jwks: JsonObject | null;
  /** The claim → agent-id mapping rule, as configured. */
  mapping: JsonObject | null;
  /** `null`: the default (`['id_token']` for oidc issuers, none for the others). */
  assertions: AssertionKind[] | null;
  /** `null`: the default (3600 s). */
  maxAssertionAgeSeconds: number | null;
}

export interface IssuerStore {
  /** Inserts or replaces. */
  put(issuer: IssuerRecord): Promise<void>;
  get(issuer: string): Promise<IssuerRecord | null>;
  /** By issuer. */
  list(): Promise<IssuerRecord[]>;
  /** `true` when something was deleted. */
  delete(issuer: string): Promise<boolean>;
}

// ─── the whole store ─────────────────────────────────────────────────────────────────────────────────

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly agents: AgentStore;
  readonly tokens: TokenStore;
  readonly statusLists: StatusListStore;
  readonly keys: KeyStore;
  readonly replay: ReplayStore;
  readonly issuers: IssuerStore;
  /**
   * `agents.get(agentId)` and `tokens.isRevoked(tokenHash)` answered by one round trip, for stores where a
   * round trip is the cost (PostgreSQL): a token exchange needs both, the calling agent and its subject
   * warrant's state. Absent where two local reads cost less than one composite statement (SQLite).
   */
  readonly exchangeReads?: (
    agentId: string,
    tokenHash: string,
  ) => Promise<{ agent: AgentRecord | null; revoked: boolean | null }>;
  /**
   * False once the store can no longer make a write durable and refuses every write until it is reopened
   * (SQLite: an fdatasync of its WAL failed). Readiness reports it: reads still answer, exchanges do not.
   * Absent where a failure is per request (PostgreSQL: the server reports each commit).
   */
  readonly writable?: () => boolean;
  /** Closes the database handle or pool. Idempotent. */
  close(): Promise<void>;
}
