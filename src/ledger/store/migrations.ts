/**
 * Schema migrations of the ledger store, applied in order by `migrateSqlite()` / `migratePostgres()`
 * (`src/sql/`) and recorded in `schema_migrations`. One text per migration, written for both databases:
 * the column types that differ come from the dialect. Never edit a released migration (nor what its text
 * takes from the dialect): append the next number.
 */
import {
  type Dialect,
  type DialectMigration,
  inDialect,
  type Migration,
  POSTGRES_DIALECT,
  SQLITE_DIALECT,
} from '../../sql/migration.ts';

const MIGRATIONS: readonly DialectMigration<Dialect>[] = [
  {
    version: 1,
    name: '001_ledger',
    sql: (d) => `
CREATE TABLE ledger_records (
  idx ${d.int} PRIMARY KEY CHECK (idx >= 0),
  leaf_hash ${d.bytes} NOT NULL CHECK (length(leaf_hash) = 32),
  canonical TEXT NOT NULL,
  time ${d.int} NOT NULL,
  txn TEXT,
  person TEXT,
  caller TEXT,
  action TEXT,
  decision TEXT
)${d.table};
CREATE INDEX ledger_records_txn ON ledger_records (txn, idx) WHERE txn IS NOT NULL;
CREATE INDEX ledger_records_person ON ledger_records (person, idx) WHERE person IS NOT NULL;
CREATE INDEX ledger_records_caller ON ledger_records (caller, idx) WHERE caller IS NOT NULL;
CREATE INDEX ledger_records_action ON ledger_records (action, idx) WHERE action IS NOT NULL;
CREATE INDEX ledger_records_time ON ledger_records (time, idx);

CREATE TABLE ledger_checkpoints (
  size ${d.int} PRIMARY KEY CHECK (size >= 0),
  root ${d.bytes} NOT NULL CHECK (length(root) = 32),
  note TEXT NOT NULL,
  time ${d.int} NOT NULL
)${d.table};
`,
  },
  {
    // The replicated ledger (Tessera's sequencer/integrator split, src/ledger/replicated/): gateway
    // replicas insert acknowledged records into `ledger_pending` (no index: no contention), the holder of
    // the `ledger_lease` row moves them into `ledger_records` with the tiles and a checkpoint, in one
    // transaction. Created on SQLite too (one migration list), where nothing uses them.
    version: 2,
    name: '002_replicated',
    sql: (d) => `
CREATE TABLE ledger_pending (
  seq ${d === POSTGRES_DIALECT ? 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY'},
  record TEXT NOT NULL,
  time ${d.int} NOT NULL,
  replica TEXT NOT NULL
)${d.table};

CREATE TABLE ledger_lease (
  id ${d.int} PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL,
  expires ${d.int} NOT NULL
)${d.table};

CREATE TABLE ledger_tiles (
  level ${d.int} NOT NULL CHECK (level >= 0 AND level < 64),
  idx ${d.int} NOT NULL CHECK (idx >= 0),
  width ${d.int} NOT NULL CHECK (width >= 1 AND width <= 256),
  hashes ${d.bytes} NOT NULL CHECK (length(hashes) = 32 * width),
  PRIMARY KEY (level, idx)
)${d.keyedTable};
`,
  },
];

export const SQLITE_LEDGER_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, SQLITE_DIALECT);
export const POSTGRES_LEDGER_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, POSTGRES_DIALECT);
