/**
 * Schema migrations of the guard store (src/guard/store/guard-sql.ts), one text per migration for both
 * databases. Each part of the guard appends its own numbered migration; never edit a released one.
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
    name: '001_guard_changes',
    // Every operator or automatic change of the guard's state (a trust level moved, a tool approved, a
    // breaker reset, a budget set), with who and why: the durable history, and what other processes poll
    // to learn of changes made elsewhere.
    sql: (d) => `
CREATE TABLE guard_changes (
  id ${d.int === 'INTEGER' ? 'INTEGER PRIMARY KEY' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'},
  time ${d.int} NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL
)${d.table};
CREATE INDEX guard_changes_subject ON guard_changes (kind, subject, id);`,
  },
  {
    version: 7,
    name: '007_containment',
    // Containment and rollback (src/guard/contain/). `compensation_inputs`: for each allowed call of an action
    // that declares a compensation, only the values that compensation names (never a whole body, response or
    // token), written by the gateway once the upstream answered 2xx. `containment_runs` / `containment_steps`:
    // each `warrant contain` run and the state of each action it handles (claimed before a compensation is
    // sent, so a second run never sends it twice). `ledger_inbox`: containment records the control plane
    // hands to the ledger's writer (the gateway's ledger role drains it into the ledger).
    sql: (d) => `
CREATE TABLE compensation_inputs (
  decision_id TEXT PRIMARY KEY,
  time ${d.int} NOT NULL,
  txn TEXT,
  person TEXT,
  caller TEXT NOT NULL,
  route TEXT NOT NULL,
  action TEXT NOT NULL,
  status ${d.int} NOT NULL,
  vals TEXT NOT NULL
)${d.keyedTable};
CREATE INDEX compensation_inputs_txn ON compensation_inputs (txn);
CREATE TABLE containment_runs (
  id TEXT PRIMARY KEY,
  selector TEXT NOT NULL,
  actor TEXT NOT NULL,
  started ${d.int} NOT NULL,
  finished ${d.int},
  summary TEXT
)${d.keyedTable};
CREATE TABLE containment_steps (
  decision_id TEXT PRIMARY KEY,
  selector TEXT NOT NULL,
  run_id TEXT NOT NULL,
  action TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts ${d.int} NOT NULL,
  claimed_until ${d.int} NOT NULL,
  status ${d.int},
  error TEXT,
  updated ${d.int} NOT NULL
)${d.keyedTable};
CREATE TABLE ledger_inbox (
  id ${d.int === 'INTEGER' ? 'INTEGER PRIMARY KEY' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'},
  record TEXT NOT NULL,
  claimed_by TEXT,
  claimed_until ${d.int} NOT NULL
)${d.table};`,
  },
];

export const SQLITE_GUARD_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, SQLITE_DIALECT);
export const POSTGRES_GUARD_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, POSTGRES_DIALECT);
