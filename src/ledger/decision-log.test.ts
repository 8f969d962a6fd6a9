import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileDecisionLog } from './decision-log.ts';

const record = (id: string, kind: 'decision' | 'outcome' = 'decision') => ({
  id,
  kind,
  time: new Date().toISOString(),
  gateway: 'gw-test',
});

test('FileDecisionLog: appends are on disk when they resolve, batched under concurrency, file mode 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-dlog-'));
  const path = join(dir, 'decisions.jsonl');
  const log = new FileDecisionLog(path);
  try {
    await log.append(record('d0'));
    assert.match(readFileSync(path, 'utf8'), /"id":"d0"/);
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(record(`d${i + 1}`))));
    assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 51);
    assert.ok(log.batches < 51, `50 concurrent appends shared batches (${log.batches} batches)`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileDecisionLog: a noted outcome rides with the next append, and close writes one still pending', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-dlog-'));
  const path = join(dir, 'decisions.jsonl');
  const log = new FileDecisionLog(path);
  try {
    await log.append(record('d1'));
    const before = log.batches;
    log.note(record('o1', 'outcome'));
    await log.append(record('d2'));
    assert.equal(log.batches, before + 1, 'the outcome did not cost a flush of its own');
    assert.deepEqual(
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
      ['d1', 'o1', 'd2'],
    );
    log.note(record('o2', 'outcome'));
    await log.close();
    assert.match(readFileSync(path, 'utf8'), /"id":"o2"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
