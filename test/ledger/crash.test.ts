import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { exportPrivateJwk, generateSigningKey } from '../../src/core/jose/jwk.ts';
import { verifyCheckpoint } from '../../src/ledger/checkpoint.ts';
import { canonicalJson } from '../../src/ledger/jcs.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import type { LedgerStore } from '../../src/ledger/store/ports.ts';
import { openPostgresLedgerStore } from '../../src/ledger/store/postgres/postgres-ledger-store.ts';
import { openSqliteLedgerStore } from '../../src/ledger/store/sqlite/sqlite-ledger-store.ts';
import { POSTGRES_URL as PG_URL, requirePostgres } from '../support/services.ts';
import { crashRecord } from './crash-record.ts';

const root = mkdtempSync(join(tmpdir(), 'warrant-ledger-crash-'));
const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
const schemas: string[] = [];
after(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  rmSync(root, { recursive: true, force: true });
});

const key = generateSigningKey('EdDSA');
const signer = { name: 'warrant.local/ledger', key };
const LOAD_MS = 1000;

/**
 * Runs the writer, SIGKILLs it `LOAD_MS` after its first acknowledged append (the load is running then: on a
 * loaded machine the writer thread's start alone can take most of a second), and resolves what it printed as
 * acknowledged.
 */
async function runAndKill(args: string[]): Promise<Map<number, number>> {
  const child = spawn(process.execPath, [new URL('./crash-writer.ts', import.meta.url).pathname, ...args], {
    env: { ...process.env, LEDGER_KEY: JSON.stringify(exportPrivateJwk(key)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    err += d;
  });
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (d: string) => {
    out += d;
    // 'ready\n' and then at least one whole acknowledgment line.
    if (!timer && out.startsWith('ready\n') && out.indexOf('\n', 6) > 0)
      timer = setTimeout(() => child.kill('SIGKILL'), LOAD_MS);
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', `the writer exited by itself (code ${code}): ${err}`);
  const acked = new Map<number, number>();
  // Only whole lines count: the kill may cut the last one.
  for (const line of out.split('\n').slice(1, -1)) {
    const [index, k] = line.split(' ').map(Number);
    assert.ok(!acked.has(index!), `index ${index} acknowledged twice`);
    acked.set(index!, k!);
  }
  return acked;
}

async function checkSurvivors(
  store: LedgerStore,
  acked: Map<number, number>,
  note: (message: string) => void,
): Promise<void> {
  const ledger = await Ledger.open(store, signer);
  try {
    assert.ok(acked.size > 500, `only ${acked.size} appends were acknowledged before the kill`);
    assert.ok(ledger.size >= Math.max(...acked.keys()) + 1);
    const cp = ledger.latestCheckpoint()!;
    assert.equal(cp.size, ledger.size, 'the tail written before the kill is checkpointed at open');
    assert.equal(verifyCheckpoint(cp.note, [ledger.verifierKey], {}).size, ledger.size);
    let seen = 0;
    for (let after: number | undefined; ; ) {
      const page = await ledger.query({ limit: 1000, ...(after === undefined ? {} : { after }) });
      for (const r of page.items) {
        const k = acked.get(r.index);
        if (k === undefined) continue;
        assert.equal(r.canonical, canonicalJson({ ...crashRecord(k), index: r.index }), `record ${r.index}`);
        seen++;
      }
      if (page.next === null) break;
      after = page.next;
    }
    assert.equal(seen, acked.size, 'every acknowledged record is stored');
    note(`${acked.size} appends acknowledged before the kill; ${ledger.size} records found at reopen`);
  } finally {
    await ledger.close();
  }
}

describe('a ledger writer killed mid-load (SIGKILL)', () => {
  test('SQLite: reopens, verifies, and holds every acknowledged record unchanged', async (t) => {
    const path = join(root, 'crash', 'ledger.db');
    const acked = await runAndKill(['sqlite', path]);
    await checkSurvivors(await openSqliteLedgerStore({ path }), acked, (m) => t.diagnostic(m));
  });

  test('PostgreSQL: reopens, verifies, and holds every acknowledged record unchanged', async (t) => {
    await requirePostgres();
    const schema = `warrant_ledger_crash_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const acked = await runAndKill(['postgres', PG_URL, schema]);
    await checkSurvivors(await openPostgresLedgerStore({ url: PG_URL, schema }), acked, (m) =>
      t.diagnostic(m),
    );
  });
});
