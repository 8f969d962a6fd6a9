/**
 * Integrator lease takeover with a real process (DESIGN §8, issue 14): a control plane's integrator runs in
 * a child process and is killed with SIGKILL while gateway sinks keep appending; the in-process control
 * plane (`startLedgerIntegrator`, same configuration and ledger key) takes the lease once it expires and
 * integrates everything — every acknowledged record once, and the log is consistent with a checkpoint saved
 * before the kill. The log stays readable as C2SP tlog-tiles throughout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { openGuardRuntime } from '../../src/guard/runtime.ts';
import { verifyCheckpoint } from '../../src/ledger/checkpoint.ts';
import { verifyConsistency } from '../../src/ledger/merkle.ts';
import { openVerified } from '../../src/ledger/open-verify.ts';
import { LogReader } from '../../src/ledger/replicated/log-reader.ts';
import { openPostgresLedgerStore } from '../../src/ledger/store/postgres/postgres-ledger-store.ts';
import { startControlPlane } from '../../src/runtime/control-plane.ts';
import { openLedgerRole, startLedgerIntegrator } from '../../src/runtime/ledger-role.ts';
import { openStore } from '../../src/store/open-store.ts';
import { postgresSchemas } from '../support/postgres-schemas.ts';
import { POSTGRES_URL, requirePostgres } from '../support/services.ts';
import { quietLogger } from '../support/sts-harness.ts';

await requirePostgres();
const schemas = postgresSchemas('ledger_takeover');
const dataDir = mkdtempSync(join(tmpdir(), 'warrant-takeover-'));
after(async () => {
  await schemas.dropAll();
  rmSync(dataDir, { recursive: true, force: true });
});

const overrides = {
  dataDir,
  trustDomain: 'takeover.test',
  store: { kind: 'postgres' as const, url: POSTGRES_URL },
  ledger: { mode: 'replicated' as const, integrateMs: 50, leaseMs: 600 },
};
const config = loadConfig(undefined, overrides);
let n = 0;
const record = () => ({
  id: `t${n++}`,
  kind: 'decision' as const,
  time: new Date().toISOString(),
  gateway: 'gw',
  decision: 'allow' as const,
});

test('SIGKILL of the integrator: another control plane takes the lease, integrates all, no fork', async () => {
  const schema = schemas.fresh();
  const gateway = await openLedgerRole(config, { schema, replica: 'gw-1' });
  assert.equal(gateway.mode, 'replica');
  // The ledger key is created by the first user of the data directory: create it before the child runs.
  const reader = await startLedgerIntegrator(config, { schema, holder: 'observer' });
  await reader.integrator.stop();
  const child = spawn(
    process.execPath,
    [new URL('./integrator-child.ts', import.meta.url).pathname, schema],
    {
      env: { ...process.env, WARRANT_CONFIG: JSON.stringify(overrides) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    for (let i = 0; i < 400; i++) await gateway.sink.append(record());
    const read = new LogReader(reader.pool);
    let saved = await read.latestCheckpoint();
    for (let w = 0; w < 1200 && (saved?.size ?? 0) < 400; w++) {
      await new Promise((r) => setTimeout(r, 25));
      saved = await read.latestCheckpoint();
    }
    assert.equal(saved?.size, 400, `the child integrated (it printed: ${out.slice(-200)})`);
    assert.match(out, /holding \d+/, 'the child held the lease');
    child.kill('SIGKILL');
    await exited;
    // Gateways keep acknowledging while nobody integrates.
    await Promise.all(Array.from({ length: 300 }, () => gateway.sink.append(record())));
    const second = await startLedgerIntegrator(config, { schema, holder: 'cp-2' });
    let latest = null;
    for (let w = 0; w < 1200 && (latest?.size ?? 0) < 700; w++) {
      await new Promise((r) => setTimeout(r, 25));
      latest = second.integrator.latestCheckpoint();
    }
    assert.equal(latest?.size, 700, 'the second control plane took over and integrated the rest');
    const store = await openPostgresLedgerStore({ url: POSTGRES_URL, schema });
    const { tree } = await openVerified(store, 'full', 'takeover.test/ledger', [
      second.integrator.verifierKey,
    ]);
    assert.equal(tree.size, 700);
    assert.ok(
      verifyConsistency(saved!.size, 700, saved!.root, latest!.root, tree.consistencyProof(saved!.size, 700)),
    );
    const ids = new Set(
      (await store.entries(0, 700)).map((e) => (JSON.parse(e.canonical) as { id: string }).id),
    );
    assert.equal(ids.size, 700, 'every acknowledged record exactly once');
    await store.close();
    // The role's routes serve the log (C2SP tlog-tiles).
    const server = createServer((req, res) => {
      void second.routes(req, res, new URL(req.url!, 'http://x')).then((done) => {
        if (!done) res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ledger`;
    const note = await (await fetch(`${base}/checkpoint`)).text();
    assert.equal(verifyCheckpoint(note, [second.integrator.verifierKey]).size, 700);
    const tile = await fetch(`${base}/tile/0/002.p/188`);
    assert.equal(tile.status, 200);
    assert.equal((await tile.arrayBuffer()).byteLength, 188 * 32);
    server.close();
    await second.close();
  } finally {
    child.kill('SIGKILL');
    await gateway.close();
    await reader.close();
  }
});

test('the control plane in replicated mode runs the integrator and serves /ledger/ (C2SP tlog-tiles)', async () => {
  const schema = schemas.fresh();
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  const guard = await openGuardRuntime(loadConfig(undefined, { dataDir }), { pollMs: 0 });
  const cfg = loadConfig(undefined, { ...overrides, sts: { listen: { host: '127.0.0.1', port: 0 } } });
  const plane = await startControlPlane(cfg, { store, guard, ledgerSchema: schema, logger: quietLogger() });
  const gateway = await openLedgerRole(cfg, { schema, replica: 'gw-1' });
  try {
    const empty = await fetch(`${plane.url}/ledger/checkpoint`);
    assert.equal(empty.status, 404);
    assert.equal(((await empty.json()) as { code: string }).code, 'WARRANT_LEDGER_TILE_NOT_FOUND');
    await Promise.all(Array.from({ length: 10 }, () => gateway.sink.append(record())));
    for (let w = 0; w < 1200 && plane.ledger?.integrator.latestCheckpoint()?.size !== 10; w++)
      await new Promise((r) => setTimeout(r, 25));
    const note = await (await fetch(`${plane.url}/ledger/checkpoint`)).text();
    assert.equal(verifyCheckpoint(note, [plane.ledger!.integrator.verifierKey]).size, 10);
    const tile = await fetch(`${plane.url}/ledger/tile/0/000.p/10`);
    assert.equal((await tile.arrayBuffer()).byteLength, 320);
    const bad = await fetch(`${plane.url}/ledger/tile/0/1`);
    assert.equal(bad.status, 404);
    assert.equal(((await bad.json()) as { code: string }).code, 'WARRANT_LEDGER_TILE_NOT_FOUND');
    const garbage = await fetch(`${plane.url}/ledger/cosignature`, { method: 'POST', body: 'not a note' });
    assert.equal(garbage.status, 400);
    assert.equal(((await garbage.json()) as { code: string }).code, 'WARRANT_LEDGER_COSIGNATURE_INVALID');
  } finally {
    await gateway.close();
    await plane.close();
    await guard.close();
    await store.close();
  }
});
