/**
 * PostgreSQL schema migrations, applied in order by `migratePostgres()` in one transaction under an
 * advisory lock and recorded in `schema_migrations`. Never edit a released migration: append the next
 * number. Statements are unqualified: they run with `search_path` set to the store's schema.
 * JSON values are TEXT so they round-trip byte for byte (jsonb would reorder keys). Every text column uses
 * the "C" collation, so ordering (and keyset pagination) is by code point, exactly as SQLite's BINARY.
 */
import type { Migration } from '../migration.ts';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001_initial',
    sql: `
CREATE TABLE agents (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  tier TEXT COLLATE "C" NOT NULL,
  trust_level INTEGER NOT NULL,
  allowed_audiences TEXT COLLATE "C" NOT NULL,
  max_depth INTEGER NOT NULL,
  status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'disabled')),
  public_jwk TEXT COLLATE "C" NOT NULL,
  jkt TEXT COLLATE "C" NOT NULL,
  previous_keys TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX agents_status_id ON agents (status, id);

-- Every key thumbprint in use (until NULL = current key): uniqueness across agents and lookup.
CREATE TABLE agent_keys (
  jkt TEXT COLLATE "C" PRIMARY KEY,
  agent_id TEXT COLLATE "C" NOT NULL,
  until BIGINT
);
CREATE INDEX agent_keys_agent ON agent_keys (agent_id);

CREATE TABLE tokens (
  hash TEXT COLLATE "C" PRIMARY KEY,
  jti TEXT COLLATE "C" NOT NULL UNIQUE,
  kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('identity', 'warrant')),
  parent_hash TEXT COLLATE "C",
  root_hash TEXT COLLATE "C",
  txn TEXT COLLATE "C",
  sub TEXT COLLATE "C" NOT NULL,
  actors TEXT COLLATE "C" NOT NULL,
  audience TEXT COLLATE "C" NOT NULL,
  grants_json TEXT COLLATE "C",
  policy_version TEXT COLLATE "C",
  status_list TEXT COLLATE "C",
  status_idx INTEGER,
  iat BIGINT NOT NULL,
  exp BIGINT NOT NULL,
  revoked_at BIGINT,
  revoke_reason TEXT COLLATE "C"
);
CREATE INDEX tokens_parent ON tokens (parent_hash) WHERE parent_hash IS NOT NULL;
CREATE INDEX tokens_txn ON tokens (txn) WHERE txn IS NOT NULL;
CREATE INDEX tokens_sub ON tokens (sub);
CREATE INDEX tokens_exp ON tokens (exp);

-- One row per (agent, token) for every agent in the token's actor chain.
CREATE TABLE token_actors (
  agent_id TEXT COLLATE "C" NOT NULL,
  hash TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (agent_id, hash)
);

CREATE TABLE status_lists (
  list_id TEXT COLLATE "C" PRIMARY KEY,
  next_idx BIGINT NOT NULL,
  version BIGINT NOT NULL,
  bits BYTEA NOT NULL
);

CREATE TABLE signing_keys (
  kid TEXT COLLATE "C" PRIMARY KEY,
  alg TEXT COLLATE "C" NOT NULL,
  material TEXT COLLATE "C" NOT NULL,
  state TEXT COLLATE "C" NOT NULL CHECK (state IN ('current', 'previous')),
  created_at BIGINT NOT NULL,
  retire_at BIGINT
);

CREATE TABLE replay (
  namespace TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, id)
);
CREATE INDEX replay_expires ON replay (expires_at);

CREATE TABLE issuers (
  issuer TEXT COLLATE "C" PRIMARY KEY,
  kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('oidc', 'kubernetes', 'spiffe')),
  audience TEXT COLLATE "C" NOT NULL,
  jwks_uri TEXT COLLATE "C",
  jwks TEXT COLLATE "C",
  mapping TEXT COLLATE "C"
);
`,
  },
  {
    version: 2,
    name: '002_agent_client_ids',
    sql: `
-- Each agent's client id at each OpenID provider (issuer → client id), as JSON; and the index that keeps a
-- (issuer, client id) pair to one agent, so an ID token addressed to it roots warrants for that agent only.
ALTER TABLE agents ADD COLUMN client_ids TEXT COLLATE "C" NOT NULL DEFAULT '{}';
CREATE TABLE agent_client_ids (
  issuer TEXT COLLATE "C" NOT NULL,
  client_id TEXT COLLATE "C" NOT NULL,
  agent_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (issuer, client_id)
);
CREATE INDEX agent_client_ids_agent ON agent_client_ids (agent_id);

-- Which persons' assertions a stored issuer may send, and how old they may be (NULL: the defaults).
ALTER TABLE issuers ADD COLUMN assertions TEXT COLLATE "C";
ALTER TABLE issuers ADD COLUMN max_assertion_age_seconds BIGINT;
`,
  },
];
