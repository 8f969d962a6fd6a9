import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { openAtomicFile } from './atomic-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'warrant-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('until commit the target is untouched; commit renames the whole file over it (0600)', async () => {
  const target = join(dir, 'out.jsonl');
  writeFileSync(target, 'old\n');
  const file = await openAtomicFile(target);
  await file.write('a'.repeat(3 << 20));
  await file.write('\nend\n');
  assert.equal(readFileSync(target, 'utf8'), 'old\n');
  assert.match(basename(file.tempPath), /^\.out\.jsonl\.[0-9a-f]{12}\.tmp$/);
  assert.equal(dirname(file.tempPath), dir);
  assert.deepEqual(readdirSync(dir).sort(), [basename(file.tempPath), 'out.jsonl']);
  await file.commit();
  assert.equal(readFileSync(target, 'utf8'), `${'a'.repeat(3 << 20)}\nend\n`);
  assert.equal(statSync(target).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['out.jsonl']);
  await file.abort(); // after commit: nothing to undo
  assert.equal(readFileSync(target, 'utf8').length, (3 << 20) + 5);
});

test('abort removes the temporary file and leaves the target as it was; later writes are refused', async () => {
  const target = join(dir, 'kept.txt');
  writeFileSync(target, 'kept\n');
  const file = await openAtomicFile(target);
  await file.write('half of it');
  await file.abort();
  assert.equal(readFileSync(target, 'utf8'), 'kept\n');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('kept')),
    ['kept.txt'],
  );
  await assert.rejects(file.write('more'), /already aborted/);
  await assert.rejects(file.commit(), /already aborted/);
});

test('a directory that does not exist fails at open, before anything is written', async () => {
  await assert.rejects(openAtomicFile(join(dir, 'missing', 'out.jsonl')), { code: 'ENOENT' });
});
