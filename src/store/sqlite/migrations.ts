/**
 * SQLite schema migrations, applied in order by `migrateSqlite()` in one `BEGIN IMMEDIATE` transaction and
 * recorded in `schema_migrations`. Never edit a released migration: append the next number.
 * Tables are STRICT; JSON values are stored as text exactly as written.
 */
import type { Migration } from '../migration.ts';

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001_initial',
    sql: `
CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  tier TEXT NOT NULL,
  trust_level INTEGER NOT NULL,
  allowed_audiences TEXT NOT NULL,
  max_depth INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  public_jwk TEXT NOT NULL,
  jkt TEXT NOT NULL,
  previous_keys TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX agents_status_id ON agents (status, id);

-- Every key thumbprint in use (until NULL = current key): uniqueness across agents and lookup.
CREATE TABLE agent_keys (
  jkt TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  until INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX agent_keys_agent ON agent_keys (agent_id);

CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  jti TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('identity', 'warrant')),
  parent_hash TEXT,
  root_hash TEXT,
  txn TEXT,
  sub TEXT NOT NULL,
  actors TEXT NOT NULL,
  audience TEXT NOT NULL,
  grants_json TEXT,
  policy_version TEXT,
  status_list TEXT,
  status_idx INTEGER,
  iat INTEGER NOT NULL,
  exp INTEGER NOT NULL,
  revoked_at INTEGER,
  revoke_reason TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_parent ON tokens (parent_hash) WHERE parent_hash IS NOT NULL;
CREATE INDEX tokens_txn ON tokens (txn) WHERE txn IS NOT NULL;
CREATE INDEX tokens_sub ON tokens (sub);
CREATE INDEX tokens_exp ON tokens (exp);

-- One row per (agent, token) for every agent in the token's actor chain.
CREATE TABLE token_actors (
  agent_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (agent_id, hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE status_lists (
  list_id TEXT PRIMARY KEY,
  next_idx INTEGER NOT NULL,
  version INTEGER NOT NULL,
  bits BLOB NOT NULL
) STRICT;

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  material TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('current', 'previous')),
  created_at INTEGER NOT NULL,
  retire_at INTEGER
) STRICT;

CREATE TABLE replay (
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX replay_expires ON replay (expires_at);

CREATE TABLE issuers (
  issuer TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('oidc', 'kubernetes', 'spiffe')),
  audience TEXT NOT NULL,
  jwks_uri TEXT,
  jwks TEXT,
  mapping TEXT
) STRICT;
`,
  },
  {
    version: 2,
    name: '002_agent_client_ids',
    sql: `
-- Each agent's client id at each OpenID provider (issuer → client id), as JSON; and the index that keeps a
-- (issuer, client id) pair to one agent, so an ID token addressed to it roots warrants for that agent only.
ALTER TABLE agents ADD COLUMN client_ids TEXT NOT NULL DEFAULT '{}';
CREATE TABLE agent_client_ids (
  issuer TEXT NOT NULL,
  client_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  PRIMARY KEY (issuer, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX agent_client_ids_agent ON agent_client_ids (agent_id);

-- Which persons' assertions a stored issuer may send, and how old they may be (NULL: the defaults).
ALTER TABLE issuers ADD COLUMN assertions TEXT;
ALTER TABLE issuers ADD COLUMN max_assertion_age_seconds INTEGER;
`,
  },
];
