import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Command, parseCommandArgs, UsageError } from './command.ts';

const contain: Command = {
  name: 'contain',
  summary: 'test',
  description: 'test',
  options: {
    warrant: { type: 'string', value: 'hash', description: 'a token hash' },
    txn: { type: 'string', short: 't', value: 'txn', description: 'a txn' },
    json: { type: 'boolean', description: 'json' },
  },
  examples: [],
  async run() {
    return 0;
  },
};

test('a string option takes a value that starts with a dash (a token hash can)', () => {
  const hash = '-Qk3vZ8ylHjP0dXcN2eTqB5wYtR9uA7sKmF1gL4oI6n';
  assert.equal(parseCommandArgs(contain, ['--warrant', hash, '--json']).values['warrant'], hash);
  assert.equal(parseCommandArgs(contain, ['-t', '-abc']).values['txn'], '-abc');
  assert.equal(parseCommandArgs(contain, [`--warrant=${hash}`]).values['warrant'], hash);
});

test('an option name after a string option is still an option, so the value is missing', () => {
  assert.throws(() => parseCommandArgs(contain, ['--warrant', '--json']), UsageError);
  assert.throws(() => parseCommandArgs(contain, ['--warrant', '-t', 'x']), UsageError);
  assert.throws(() => parseCommandArgs(contain, ['--warrant', '--help']), UsageError);
  assert.throws(() => parseCommandArgs(contain, ['--warrant']), UsageError);
});

test('a positional token hash may start with a dash; other dash arguments stay options', () => {
  const revoke: Command = {
    ...contain,
    name: 'revoke',
    positional: { name: '<hash>', description: 'a hash', required: true },
  };
  const hash = '-Nk3vZ8ylHjP0dXcN2eTqB5wYtR9uA7sKmF1gL4oI6n';
  for (const args of [[hash], [hash, '--json'], ['--json', hash], ['--', hash], ['--json', '--', hash]]) {
    const parsed = parseCommandArgs(revoke, args);
    assert.deepEqual(parsed.positionals, [hash], args.join(' '));
  }
  assert.equal(parseCommandArgs(revoke, [hash, '--json']).values['json'], true);
  // Not hash-shaped (42 characters): an unknown option, as before.
  assert.throws(() => parseCommandArgs(revoke, [hash.slice(0, -1)]), UsageError);
  assert.throws(() => parseCommandArgs(revoke, ['-x']), UsageError);
  // A command without a positional takes no hash as one.
  assert.throws(() => parseCommandArgs(contain, [hash]), UsageError);
  // Two positionals where one is allowed: refused.
  assert.throws(() => parseCommandArgs(revoke, [hash, hash]), UsageError);
});

test('unknown options are still refused', () => {
  assert.throws(() => parseCommandArgs(contain, ['--nope', 'x']), UsageError);
  assert.throws(() => parseCommandArgs(contain, ['--json', '-x']), UsageError);
});
