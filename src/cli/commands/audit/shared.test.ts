import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { AuditQueryError } from '../../../ledger/audit/query.ts';
import { CliError, type Io, UsageError } from '../../command.ts';
import { asUsage, givenKeys, integerFlag, pickStrings, writeOutput } from './shared.ts';

const dir = mkdtempSync(join(tmpdir(), 'warrant-audit-shared-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function io(): Io & { stdout: string } {
  return {
    stdout: '',
    stdin: Readable.from([]),
    out(text) {
      this.stdout += text;
    },
    err() {},
    env: {},
  };
}

describe('audit flag helpers', () => {
  test('pickStrings keeps the given string flags; an empty one is a usage error', () => {
    assert.deepEqual(pickStrings({ txn: 't1', since: undefined, json: true }, ['txn', 'since', 'json']), {
      txn: 't1',
    });
    assert.throws(() => pickStrings({ txn: '' }, ['txn']), UsageError);
  });

  test('integerFlag takes a non-negative integer only', () => {
    assert.equal(integerFlag('42', 'limit'), 42);
    for (const bad of ['-1', '1.5', 'x', '', '1234567890123456'])
      assert.throws(() => integerFlag(bad, 'limit'), { name: 'UsageError', message: /^--limit expects/ });
  });

  test('givenKeys checks each key; a malformed one names its flag', () => {
    assert.deepEqual(givenKeys({ values: {}, positionals: [] }), []);
    assert.throws(() => givenKeys({ values: { 'witness-key': ['nope'] }, positionals: [] }, 'witness-key'), {
      name: 'UsageError',
      message: /^--witness-key: /,
    });
  });

  test('asUsage turns an invalid audit query into a usage error naming the flag; others pass through', () => {
    assert.throws(() => asUsage(new AuditQueryError('since', 'must be an ISO 8601 date-time')), {
      name: 'UsageError',
      message: '--since: must be an ISO 8601 date-time',
    });
    const other = new Error('x');
    assert.throws(
      () => asUsage(other),
      (e) => e === other,
    );
  });
});

describe('writeOutput', () => {
  test('without a path the text goes to standard output', async () => {
    const out = io();
    await writeOutput(undefined, out, 'hello\n');
    assert.equal(out.stdout, 'hello\n');
  });

  test('a file is replaced whole, and no temporary file stays beside it', async () => {
    const path = join(dir, 'cp.txt');
    writeFileSync(path, 'old');
    await writeOutput(path, io(), 'new note\n');
    assert.equal(readFileSync(path, 'utf8'), 'new note\n');
    assert.deepEqual(readdirSync(dir), ['cp.txt']);
  });

  test('a path it cannot write is a CliError naming the path', async () => {
    const path = join(dir, 'missing', 'cp.txt');
    await assert.rejects(
      writeOutput(path, io(), 'x'),
      (e) => e instanceof CliError && e.message.startsWith(`cannot write ${path}: ENOENT`),
    );
  });
});
