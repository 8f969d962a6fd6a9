import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const main = new URL('../src/cli/main.ts', import.meta.url).pathname;
const warrant = (args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });

test('warrant dev --demo drives real traffic through the gateway; the ledger export verifies against its key or a saved checkpoint, not without an anchor, and any edit fails', async () => {
  const data = mkdtempSync(join(tmpdir(), 'warrant-demo-'));
  const child = spawn(process.execPath, [main, 'dev', '--demo', '--port', '0', '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WARRANT_ADMIN_TOKEN: '' },
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  try {
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('/demo/crm/export') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(stderr, /demo: GET \/demo\/crm\/contacts\/1 → 200/);
    assert.match(stderr, /demo: DELETE \/demo\/crm\/contacts\/2 → 403 WARRANT_APPROVAL_REQUIRED/);
    assert.match(stderr, /demo: GET \/demo\/crm\/export → 403 WARRANT_ACTION_UNKNOWN/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  try {
    // After the run: the decisions are in the ledger, with person and chain, and no token literal.
    const query = warrant(['audit', 'query', '--data', data, '--json']);
    assert.equal(query.status, 0, query.stderr);
    const text = query.stdout;
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]+\./, 'no token literals');
    const decisions = (
      JSON.parse(text) as { records: { decision?: string; kind?: string }[] }
    ).records.filter((r) => r.kind === 'decision');
    assert.deepEqual(
      decisions.map((d) => d.decision),
      // The DELETE is above the demo executor's bound: a person must approve it (not a permanent deny).
      ['allow', 'allow', 'allow', 'approval_required', 'deny'],
    );
    // The export verifies offline against a trust anchor (the README's commands): the ledger key that
    // `audit key` prints, or a checkpoint saved with `audit checkpoint`. Without an anchor it does not.
    const out = join(data, 'ledger.jsonl');
    const exported = warrant(['audit', 'export', '--data', data, '--out', out]);
    assert.equal(exported.status, 0, exported.stderr);
    const key = warrant(['audit', 'key', '--data', data]);
    assert.equal(key.status, 0, key.stderr);
    assert.match(key.stdout, /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+\n$/);
    const verified = warrant(['audit', 'verify', out, '--key', key.stdout.trim()]);
    assert.equal(verified.status, 0, verified.stderr + verified.stdout);
    assert.match(verified.stdout, /anchor +the pinned key/);
    const checkpoint = join(data, 'trusted.cp');
    const saved = warrant(['audit', 'checkpoint', '--data', data, '--out', checkpoint]);
    assert.equal(saved.status, 0, saved.stderr);
    const fromCheckpoint = warrant(['audit', 'verify', out, '--trusted-checkpoint', checkpoint]);
    assert.equal(fromCheckpoint.status, 0, fromCheckpoint.stderr + fromCheckpoint.stdout);
    const unanchored = warrant(['audit', 'verify', out]);
    assert.equal(unanchored.status, 1);
    assert.match(unanchored.stderr, /WARRANT_AUDIT_NO_TRUST_ANCHOR/);
    // An edited export does not verify.
    const lines = readFileSync(out, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"decision":"deny"'));
    writeFileSync(
      out,
      lines.map((l, n) => (n === i ? l.replace('"decision":"deny"', '"decision":"allow"') : l)).join('\n'),
    );
    const tampered = warrant(['audit', 'verify', out, '--key', key.stdout.trim()]);
    assert.equal(tampered.status, 1);
    assert.match(tampered.stderr + tampered.stdout, /line|record|checkpoint/i);
    assert.match(tampered.stderr, /WARRANT_AUDIT_EXPORT_TAMPERED/);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
