import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const main = new URL('../src/cli/main.ts', import.meta.url).pathname;

test('warrant dev --demo drives real traffic through the gateway and records every decision', async () => {
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
    assert.match(stderr, /demo: DELETE \/demo\/crm\/contacts\/2 → 403 WARRANT_CALL_DENIED/);
    assert.match(stderr, /demo: GET \/demo\/crm\/export → 403 WARRANT_ACTION_UNKNOWN/);
    const records = readFileSync(join(data, 'decisions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { kind: string; decision?: string; person?: { sub: string }; chain?: unknown[] },
      );
    const decisions = records.filter((r) => r.kind === 'decision');
    assert.equal(decisions.length, 5);
    assert.deepEqual(
      decisions.map((d) => d.decision),
      ['allow', 'allow', 'allow', 'deny', 'deny'],
    );
    for (const d of decisions) {
      assert.equal(d.person?.sub, 'alice@example.org');
      assert.equal(d.chain?.length, 2);
    }
    assert.doesNotMatch(
      readFileSync(join(data, 'decisions.jsonl'), 'utf8'),
      /eyJ[A-Za-z0-9_-]+\./,
      'no token literals',
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(data, { recursive: true, force: true });
  }
});
