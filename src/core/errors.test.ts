import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ChainError, ConfigError, ERROR_CODES, JwsError, WarrantError } from './errors.ts';

const documented = new Map(
  [
    ...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(
      /^\|\s*`(WARRANT_[A-Z0-9_]+)`\s*\|\s*(.+?)\s*\|$/gm,
    ),
  ].map((m) => [m[1]!, m[2]!]),
);

test('every error code is documented in docs/errors.md', () => {
  for (const code of Object.keys(ERROR_CODES))
    assert.ok(documented.has(code), `${code} is missing from docs/errors.md`);
});

test('every documented code exists in the code', () => {
  for (const code of documented.keys())
    assert.ok(Object.hasOwn(ERROR_CODES, code), `${code} is documented but not defined`);
});

test('codes are unique, upper snake case and prefixed WARRANT_', () => {
  for (const code of Object.keys(ERROR_CODES)) assert.match(code, /^WARRANT_[A-Z0-9]+(_[A-Z0-9]+)*$/);
});

test('errors carry code, name and cause, and serialise without a stack', () => {
  const cause = new Error('inner');
  const e = new JwsError('WARRANT_JWS_MALFORMED', undefined, { cause });
  assert.equal(e.code, 'WARRANT_JWS_MALFORMED');
  assert.equal(e.name, 'JwsError');
  assert.equal(e.cause, cause);
  assert.ok(e instanceof WarrantError);
  assert.deepEqual(Object.keys(e.toJSON()).sort(), ['code', 'message']);
  assert.equal(new ChainError('WARRANT_CHAIN_LINK_BROKEN', 3).link, 3);
  assert.match(new ConfigError('/sts/maxDepth', 'must be <= 32').message, /^\/sts\/maxDepth: /);
});
