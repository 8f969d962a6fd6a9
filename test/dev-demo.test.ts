/**
 * `warrant dev --demo` end to end, as a user runs it: the story is told on real MCP and A2A through the
 * STS and the gateway, each narrated outcome is the one the story promises (allowed, refused with the
 * stable code that says why), the servers keep serving afterwards, and the ledger holds the transaction —
 * decisions and containment — and its export verifies against a trust anchor, not without one, and not
 * once edited.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEMO_STORY } from './support/demo-story.ts';

const main = new URL('../src/cli/main.ts', import.meta.url).pathname;
const warrant = (args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });

interface LedgerRecord {
  kind?: string;
  decision?: string;
  action?: string;
  code?: string;
  containment?: { step: string; outcome: string; detail?: Record<string, unknown> };
}

test('warrant dev --demo tells the whole story, keeps serving, and the ledger holds and proves it', async () => {
  const data = mkdtempSync(join(tmpdir(), 'warrant-demo-'));
  const child = spawn(process.execPath, [main, 'dev', '--demo', '--port', '0', '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WARRANT_ADMIN_TOKEN: '', LOG_LEVEL: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  let txn: string;
  try {
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('The servers keep running') && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(stdout, /The servers keep running/, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    for (const [what, expected] of DEMO_STORY) assert.match(stdout, expected, what);
    // Quiet by default: the story is the output, not access logs.
    assert.doesNotMatch(stderr, /"msg":"access"/);
    txn = /The transaction: (txn_[A-Za-z0-9_-]+)/.exec(stdout)![1]!;
    assert.match(stdout, new RegExp(`npx warrant audit trace --txn ${txn} --data ${data}`));
    // Still serving after the story, like `warrant dev`: the gateway answers.
    const gateway = /gateway +(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    assert.equal((await fetch(`${gateway}/healthz`)).status, 200);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  try {
    // The transaction in the ledger: decisions and the containment, with no token literal.
    const query = warrant(['audit', 'query', '--data', data, '--txn', txn, '--json']);
    assert.equal(query.status, 0, query.stderr);
    assert.doesNotMatch(query.stdout, /eyJ[A-Za-z0-9_-]+\./, 'no token literals');
    const records = (JSON.parse(query.stdout) as { records: LedgerRecord[] }).records;
    const decided = records
      .filter((r) => r.kind === 'decision' && r.action !== undefined)
      .map((r) => `${r.decision} ${r.action}${r.code ? ` ${r.code}` : ''}`);
    assert.deepEqual(decided, [
      'allow db:customers.query',
      'allow crm:notes.create',
      'allow payments:card.read',
      'allow payments:quote',
      'approval_required payments:transfer WARRANT_APPROVAL_REQUIRED',
      'allow payments:transfer',
      'deny payments:transfer WARRANT_APPROVAL_USED',
    ]);
    assert.ok(
      records.some((r) => r.decision === 'deny' && r.code === 'WARRANT_TOOL_QUARANTINED'),
      'the quarantined tool call is a recorded denial',
    );
    const steps = records.filter((r) => r.kind === 'containment').map((r) => r.containment!);
    assert.ok(steps.some((s) => s.step === 'revoke' && s.outcome === 'done'));
    assert.ok(steps.some((s) => s.step === 'compensate' && s.outcome === 'done'));
    assert.ok(steps.some((s) => s.step === 'finished'));
    const trace = warrant(['audit', 'trace', '--txn', txn, '--data', data]);
    assert.equal(trace.status, 0, trace.stderr);
    assert.match(trace.stdout, /person alice@example\.org/);
    assert.match(trace.stdout, /APPROVAL_REQUIRED|approval_required/i);

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
    assert.ok(i >= 0);
    writeFileSync(
      out,
      lines.map((l, n) => (n === i ? l.replace('"decision":"deny"', '"decision":"allow"') : l)).join('\n'),
    );
    const tampered = warrant(['audit', 'verify', out, '--key', key.stdout.trim()]);
    assert.equal(tampered.status, 1);
    assert.match(tampered.stderr, /WARRANT_AUDIT_EXPORT_TAMPERED/);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test('warrant dev --demo --demo-exit tells the story and exits 0; --demo-exit alone is a usage error', () => {
  const data = mkdtempSync(join(tmpdir(), 'warrant-demo-exit-'));
  try {
    const run = spawnSync(
      process.execPath,
      [main, 'dev', '--demo', '--demo-exit', '--port', '0', '--data', data],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, WARRANT_ADMIN_TOKEN: '', LOG_LEVEL: '' },
      },
    );
    assert.equal(run.status, 0, run.stderr);
    for (const [what, expected] of DEMO_STORY) assert.match(run.stdout, expected, what);
    assert.doesNotMatch(run.stdout, /keep running/);
    const usage = warrant(['dev', '--demo-exit', '--port', '0', '--data', data]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--demo-exit goes with --demo/);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
