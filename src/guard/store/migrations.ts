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
    version: 2,
    name: '002_trust',
    // Progressive trust (src/guard/trust/): each agent's standing — its level, whether an operator pinned
    // it, and the record since its last change (clean calls since `since`; denials and failures in the
    // demotion window that began at `window_start`). `guard_autonomy` holds the digest of the autonomy
    // statement last written to the ledger for an agent, so one replica writes each new version once.
    sql: (d) => `
CREATE TABLE guard_trust (
  agent TEXT PRIMARY KEY,
  level ${d.int} NOT NULL,
  pinned ${d.int} NOT NULL,
  since ${d.int} NOT NULL,
  clean ${d.int} NOT NULL,
  denials ${d.int} NOT NULL,
  failures ${d.int} NOT NULL,
  window_start ${d.int} NOT NULL,
  updated ${d.int} NOT NULL
)${d.keyedTable};
CREATE TABLE guard_autonomy (
  agent TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  time ${d.int} NOT NULL
)${d.keyedTable};`,
  },
  {
    version: 4,
    name: '004_budgets',
    // Budgets (src/guard/budgets): what each budget's scope key (an agent, a person, a txn, maybe for one
    // UTC day) has spent, in millionths of the counted unit (integers add exactly on both databases), and
    // the limits operators set over the configured ones. Reservations are one conditional UPDATE per row.
    sql: (d) => `
CREATE TABLE guard_budget_spent (
  budget TEXT NOT NULL,
  scope_key TEXT NOT NULL,
  spent ${d.int} NOT NULL,
  updated ${d.int} NOT NULL,
  PRIMARY KEY (budget, scope_key)
)${d.keyedTable};
CREATE TABLE guard_budget_limits (
  budget TEXT NOT NULL PRIMARY KEY,
  cap ${d.int} NOT NULL,
  time ${d.int} NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL
)${d.keyedTable};`,
  },
  {
    version: 3,
    name: '003_tool_pins',
    // Pinned tools (src/guard/pins/): per route and tool (MCP tool or A2A skill) the definition an operator
    // approved (or trusted on first sight) with its digest, the one the server showed last, and the status
    // that decides whether the tool is listed and callable; and the drift between them, one row per
    // (approved digest → new digest) with the fields that changed.
    sql: (d) => `
CREATE TABLE tool_pins (
  route TEXT NOT NULL,
  tool TEXT NOT NULL,
  status TEXT NOT NULL,
  digest TEXT,
  definition TEXT,
  seen_digest TEXT NOT NULL,
  seen_definition TEXT NOT NULL,
  first_seen ${d.int} NOT NULL,
  updated ${d.int} NOT NULL,
  recheck ${d.int} NOT NULL DEFAULT 0,
  PRIMARY KEY (route, tool)
)${d.keyedTable};
CREATE TABLE tool_drift (
  id ${d.int === 'INTEGER' ? 'INTEGER PRIMARY KEY' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'},
  route TEXT NOT NULL,
  tool TEXT NOT NULL,
  old_digest TEXT NOT NULL,
  new_digest TEXT NOT NULL,
  changed TEXT NOT NULL,
  first_seen ${d.int} NOT NULL,
  last_seen ${d.int} NOT NULL,
  UNIQUE (route, tool, old_digest, new_digest)
)${d.table};`,
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
