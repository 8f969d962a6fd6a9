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
];

export const SQLITE_LEDGER_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, SQLITE_DIALECT);
export const POSTGRES_LEDGER_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, POSTGRES_DIALECT);
