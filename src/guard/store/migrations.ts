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
    version: 6,
    name: '006_approvals',
    // Human approvals (DESIGN §3 apv, §6): a call above its agent's bound waits here for a person (or an
    // admin acting for a group); once approved it is spent by exactly one call (`used`, set atomically).
    // `digest` binds the call (action, resource, values); `use_by` ends an approved approval's usability.
    sql: (d) => `
CREATE TABLE guard_approvals (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  person_sub TEXT NOT NULL,
  person_iss TEXT NOT NULL,
  caller TEXT NOT NULL,
  chain TEXT NOT NULL,
  txn TEXT NOT NULL,
  warrant TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  parameters TEXT NOT NULL,
  digest TEXT NOT NULL,
  content_digest TEXT,
  risk ${d.int} NOT NULL,
  bound ${d.int} NOT NULL,
  factors TEXT NOT NULL,
  addressed_to TEXT NOT NULL,
  created ${d.int} NOT NULL,
  expires ${d.int} NOT NULL,
  decided_by TEXT,
  decided_at ${d.int},
  reason TEXT,
  narrow TEXT,
  use_by ${d.int},
  used_at ${d.int}
)${d.table};
CREATE INDEX guard_approvals_status ON guard_approvals (status, created);
CREATE INDEX guard_approvals_addressed ON guard_approvals (addressed_to, status);`,
  },
];

export const SQLITE_GUARD_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, SQLITE_DIALECT);
export const POSTGRES_GUARD_MIGRATIONS: readonly Migration[] = inDialect(MIGRATIONS, POSTGRES_DIALECT);
