/**
 * SQLite schema migrations of the ledger file, applied in order by `migrateSqlite()` and recorded in
 * `schema_migrations`. Never edit a released migration: append the next number.
 */
import type { Migration } from '../../../store/migration.ts';

export const SQLITE_LEDGER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001_ledger',
    sql: `
CREATE TABLE ledger_records (
  idx INTEGER PRIMARY KEY CHECK (idx >= 0),
  leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32),
  canonical TEXT NOT NULL,
  time INTEGER NOT NULL,
  txn TEXT,
  person TEXT,
  caller TEXT,
  action TEXT,
  decision TEXT
) STRICT;
CREATE INDEX ledger_records_txn ON ledger_records (txn, idx) WHERE txn IS NOT NULL;
CREATE INDEX ledger_records_person ON ledger_records (person, idx) WHERE person IS NOT NULL;
CREATE INDEX ledger_records_caller ON ledger_records (caller, idx) WHERE caller IS NOT NULL;
CREATE INDEX ledger_records_action ON ledger_records (action, idx) WHERE action IS NOT NULL;
CREATE INDEX ledger_records_time ON ledger_records (time, idx);

CREATE TABLE ledger_checkpoints (
  size INTEGER PRIMARY KEY CHECK (size >= 0),
  root BLOB NOT NULL CHECK (length(root) = 32),
  note TEXT NOT NULL,
  time INTEGER NOT NULL
) STRICT;
`,
  },
];
