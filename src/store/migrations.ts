/**
 * Schema migrations of the STS store, applied in order by `migrateSqlite()` (one `BEGIN IMMEDIATE`
 * transaction) / `migratePostgres()` (one transaction under an advisory lock; statements unqualified, run
 * with `search_path` set to the store's schema) and recorded in `schema_migrations`. One text per
 * migration, written for both databases: what differs comes from the dialect. Never edit a released
 * migration (nor what its text takes from the dialect): append the next number.
 *
 * SQLite tables are STRICT. JSON values are text, stored exactly as written (PostgreSQL's jsonb would
 * reorder keys). PostgreSQL text columns use the "C" collation, so ordering (and keyset pagination) is by
 * code point, exactly as SQLite's BINARY.
 */
import {
  type Dialect,
  type DialectMigration,
  inDialect,
  POSTGRES_DIALECT,
  SQLITE_DIALECT,
} from '../sql/migration.ts';
import type { Migration } from './migration.ts';

interface StoreDialect extends Dialect {
  /** A text column. */
  readonly text: string;
}

const MIGRATIONS: readonly DialectMigration<StoreDialect>[] = [
  {
    version: 1,
    name: '001_initial',
    sql: (d) => `
CREATE TABLE agents (
  id ${d.text} PRIMARY KEY,
  name ${d.text} NOT NULL,
  owner ${d.text} NOT NULL,
  tier ${d.text} NOT NULL,
  trust_level INTEGER NOT NULL,
  allowed_audiences ${d.text} NOT NULL,
  max_depth INTEGER NOT NULL,
  status ${d.text} NOT NULL CHECK (status IN ('active', 'disabled')),
  public_jwk ${d.text} NOT NULL,
  jkt ${d.text} NOT NULL,
  previous_keys ${d.text} NOT NULL,
  created_at ${d.int} NOT NULL,
  updated_at ${d.int} NOT NULL
)${d.table};
CREATE INDEX agents_status_id ON agents (status, id);

-- Every key thumbprint in use (until NULL = current key): uniqueness across agents and lookup.
CREATE TABLE agent_keys (
  jkt ${d.text} PRIMARY KEY,
  agent_id ${d.text} NOT NULL,
  until ${d.int}
)${d.keyedTable};
CREATE INDEX agent_keys_agent ON agent_keys (agent_id);

CREATE TABLE tokens (
  hash ${d.text} PRIMARY KEY,
  jti ${d.text} NOT NULL UNIQUE,
  kind ${d.text} NOT NULL CHECK (kind IN ('identity', 'warrant')),
  parent_hash ${d.text},
  root_hash ${d.text},
  txn ${d.text},
  sub ${d.text} NOT NULL,
  actors ${d.text} NOT NULL,
  audience ${d.text} NOT NULL,
  grants_json ${d.text},
  policy_version ${d.text},
  status_list ${d.text},
  status_idx INTEGER,
  iat ${d.int} NOT NULL,
  exp ${d.int} NOT NULL,
  revoked_at ${d.int},
  revoke_reason ${d.text}
)${d.keyedTable};
CREATE INDEX tokens_parent ON tokens (parent_hash) WHERE parent_hash IS NOT NULL;
CREATE INDEX tokens_txn ON tokens (txn) WHERE txn IS NOT NULL;
CREATE INDEX tokens_sub ON tokens (sub);
CREATE INDEX tokens_exp ON tokens (exp);

-- One row per (agent, token) for every agent in the token's actor chain.
CREATE TABLE token_actors (
  agent_id ${d.text} NOT NULL,
  hash ${d.text} NOT NULL,
  PRIMARY KEY (agent_id, hash)
)${d.keyedTable};

CREATE TABLE status_lists (
  list_id ${d.text} PRIMARY KEY,
  next_idx ${d.int} NOT NULL,
  version ${d.int} NOT NULL,
  bits ${d.bytes} NOT NULL
)${d.table};

CREATE TABLE signing_keys (
  kid ${d.text} PRIMARY KEY,
  alg ${d.text} NOT NULL,
  material ${d.text} NOT NULL,
  state ${d.text} NOT NULL CHECK (state IN ('current', 'previous')),
  created_at ${d.int} NOT NULL,
  retire_at ${d.int}
)${d.table};

CREATE TABLE replay (
  namespace ${d.text} NOT NULL,
  id ${d.text} NOT NULL,
  expires_at ${d.int} NOT NULL,
  PRIMARY KEY (namespace, id)
)${d.keyedTable};
CREATE INDEX replay_expires ON replay (expires_at);

CREATE TABLE issuers (
  issuer ${d.text} PRIMARY KEY,
  kind ${d.text} NOT NULL CHECK (kind IN ('oidc', 'kubernetes', 'spiffe')),
  audience ${d.text} NOT NULL,
  jwks_uri ${d.text},
  jwks ${d.text},
  mapping ${d.text}
)${d.table};
`,
  },
  {
    version: 2,
    name: '002_agent_client_ids',
    sql: (d) => `
-- Each agent's client id at each OpenID provider (issuer → client id), as JSON; and the index that keeps a
-- (issuer, client id) pair to one agent, so an ID token addressed to it roots warrants for that agent only.
ALTER TABLE agents ADD COLUMN client_ids ${d.text} NOT NULL DEFAULT '{}';
CREATE TABLE agent_client_ids (
  issuer ${d.text} NOT NULL,
  client_id ${d.text} NOT NULL,
  agent_id ${d.text} NOT NULL,
  PRIMARY KEY (issuer, client_id)
)${d.keyedTable};
CREATE INDEX agent_client_ids_agent ON agent_client_ids (agent_id);

-- Which persons' assertions a stored issuer may send, and how old they may be (NULL: the defaults).
ALTER TABLE issuers ADD COLUMN assertions ${d.text};
ALTER TABLE issuers ADD COLUMN max_assertion_age_seconds ${d.int};
`,
  },
  {
    version: 3,
    name: '003_tokens_rowid',
    // SQLite: the tokens table becomes a rowid table (rows appended in issue order) with `hash` a unique
    // index, instead of WITHOUT ROWID on the random hash. Rows are ~1 KiB (grants, actors); in a B-tree
    // keyed by a random hash every insert dirtied a random leaf of full rows, so each token cost several
    // 4 KiB WAL frames and the table outgrew the page cache. SQLite advises against WITHOUT ROWID for rows
    // over ~1/20 of a page. `npm run bench -- token-table` (40,000 tokens in groups of 16, same run): 243 µs
    // per token before, 104 after (0.43 ×; issue 13). PostgreSQL stores every table as a heap: nothing changes.
    sql: (d) =>
      d.keyedTable === d.table
        ? 'SELECT 1'
        : `
CREATE TABLE tokens_v3 (
  hash ${d.text} PRIMARY KEY,
  jti ${d.text} NOT NULL UNIQUE,
  kind ${d.text} NOT NULL CHECK (kind IN ('identity', 'warrant')),
  parent_hash ${d.text},
  root_hash ${d.text},
  txn ${d.text},
  sub ${d.text} NOT NULL,
  actors ${d.text} NOT NULL,
  audience ${d.text} NOT NULL,
  grants_json ${d.text},
  policy_version ${d.text},
  status_list ${d.text},
  status_idx INTEGER,
  iat ${d.int} NOT NULL,
  exp ${d.int} NOT NULL,
  revoked_at ${d.int},
  revoke_reason ${d.text}
)${d.table};
INSERT INTO tokens_v3 (hash, jti, kind, parent_hash, root_hash, txn, sub, actors, audience, grants_json,
  policy_version, status_list, status_idx, iat, exp, revoked_at, revoke_reason)
SELECT hash, jti, kind, parent_hash, root_hash, txn, sub, actors, audience, grants_json,
  policy_version, status_list, status_idx, iat, exp, revoked_at, revoke_reason
FROM tokens ORDER BY iat, hash;
DROP TABLE tokens;
ALTER TABLE tokens_v3 RENAME TO tokens;
CREATE INDEX tokens_parent ON tokens (parent_hash) WHERE parent_hash IS NOT NULL;
CREATE INDEX tokens_txn ON tokens (txn) WHERE txn IS NOT NULL;
CREATE INDEX tokens_sub ON tokens (sub);
CREATE INDEX tokens_exp ON tokens (exp);
`,
  },
  {
    version: 4,
    name: '004_tokens_fillfactor',
    // PostgreSQL: token pages are filled to half at insert, so revoking a token (revoked_at and
    // revoke_reason, neither indexed) is a HOT update in place: no new entry in any of the table's six
    // indexes. A revocation writes every row of a subtree at once; a full page forced each of those updates
    // onto another page with six index inserts. `BENCH_REVOCATION_AB=1 npm run bench -- revocation`, same
    // run, the store revoking a 1,001-token subtree while four gateways poll: mean 43.3 ms at fillfactor 100,
    // 22.1 ms at 50 (issue 13). New pages only: a table's existing rows keep their
    // pages. The price is disk: a token row is ~1 KiB, and a page of live tokens holds half as many. SQLite
    // has no fill factor (its B-tree pages are rewritten in place): nothing changes.
    sql: (d) => (d.keyedTable === d.table ? 'ALTER TABLE tokens SET (fillfactor = 50)' : 'SELECT 1'),
  },
];

export const SQLITE_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, {
  ...SQLITE_DIALECT,
  text: 'TEXT',
});
export const POSTGRES_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, {
  ...POSTGRES_DIALECT,
  text: 'TEXT COLLATE "C"',
});
