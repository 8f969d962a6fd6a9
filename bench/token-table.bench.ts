/**
 * The STS's tokens table on SQLite, before and after migration 003 (issue 13), same run: inserting
 * tokens shaped like the STS's (~1 KiB rows: grants, actors) in groups of 16 per transaction, with the same
 * four secondary indexes and two actor rows per token, into
 *  - a WITHOUT ROWID table keyed by the random token hash (the schema before 003), and
 *  - a rowid table with the hash as a unique index (003).
 * WAL, `synchronous=NORMAL`, no automatic checkpoint: the figure is the B-tree and WAL work of an insert,
 * not the disk's fsync (which the STS does once per group, the same for both).
 *   BENCH_TOKEN_TABLE_N=40000   tokens per variant (default 40,000 × BENCH_MS/1000, at least 8,000)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SCALE } from './lib/measure.ts';

const N = Math.max(8000, Number(process.env['BENCH_TOKEN_TABLE_N'] ?? Math.round(40_000 * SCALE)));
const GROUP = 16;

const COLUMNS = `jti TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, parent_hash TEXT, root_hash TEXT, txn TEXT,
  sub TEXT NOT NULL, actors TEXT NOT NULL, audience TEXT NOT NULL, grants_json TEXT, policy_version TEXT,
  status_list TEXT, status_idx INTEGER, iat INTEGER NOT NULL, exp INTEGER NOT NULL, revoked_at INTEGER,
  revoke_reason TEXT`;

function insertMicros(dir: string, name: string, table: string): { all: number; last: number } {
  const path = join(dir, `${name}.db`);
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;');
  db.exec(`CREATE TABLE tokens (hash TEXT PRIMARY KEY, ${COLUMNS}) ${table};
    CREATE INDEX tokens_parent ON tokens (parent_hash) WHERE parent_hash IS NOT NULL;
    CREATE INDEX tokens_txn ON tokens (txn) WHERE txn IS NOT NULL;
    CREATE INDEX tokens_sub ON tokens (sub);
    CREATE INDEX tokens_exp ON tokens (exp);
    CREATE TABLE token_actors (agent_id TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (agent_id, hash)) STRICT, WITHOUT ROWID;`);
  const insert = db.prepare(`INSERT INTO tokens VALUES (${Array(17).fill('?').join(', ')})`);
  const actor = db.prepare('INSERT OR IGNORE INTO token_actors VALUES (?, ?)');
  const grants = JSON.stringify([
    {
      action: 'crm.contacts.read',
      resource: `https://crm.example/${'x'.repeat(200)}`,
      constraints: { max: 100 },
    },
  ]);
  const parent = randomBytes(32).toString('base64url');
  const groups = Math.ceil(N / GROUP);
  const lastFrom = Math.max(0, groups - Math.ceil(groups / 4));
  const t0 = performance.now();
  let tLast = t0;
  for (let g = 0; g < groups; g++) {
    if (g === lastFrom) tLast = performance.now();
    db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < GROUP; i++) {
      const hash = randomBytes(32).toString('base64url');
      const n = g * GROUP + i;
      insert.run(
        hash,
        randomUUID(),
        'warrant',
        parent,
        parent,
        randomUUID(),
        'alice',
        '["a","b"]',
        'tool',
        grants,
        'p1',
        'l1',
        n,
        1000 + g,
        4600 + g,
        null,
        null,
      );
      actor.run('spiffe://bench/agent/a', hash);
      actor.run('spiffe://bench/agent/b', hash);
    }
    db.exec('COMMIT');
  }
  const end = performance.now();
  db.close();
  return {
    all: ((end - t0) * 1000) / (groups * GROUP),
    last: ((end - tLast) * 1000) / ((groups - lastFrom) * GROUP),
  };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-bench-tokens-'));
  try {
    console.log(
      `\nSTS tokens table on SQLite: ${N.toLocaleString('en')} tokens per variant, ${GROUP} per transaction (µs per token, incl. 2 actor rows and 4 indexes)`,
    );
    const before = insertMicros(dir, 'without-rowid', 'STRICT, WITHOUT ROWID');
    const after = insertMicros(dir, 'rowid', 'STRICT');
    const row = (name: string, r: { all: number; last: number }) =>
      console.log(
        `  ${name.padEnd(44)} ${r.all.toFixed(1).padStart(7)} µs overall  ${r.last.toFixed(1).padStart(7)} µs over the last quarter`,
      );
    row('WITHOUT ROWID on the random hash (before 003)', before);
    row('rowid table, hash a unique index (003)', after);
    console.log(
      `  rowid / WITHOUT ROWID: ${(after.all / before.all).toFixed(2)} overall, ${(after.last / before.last).toFixed(2)} over the last quarter`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
