import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Grant } from './grant.ts';
import { grantsFromScope, scopeOf } from './scope.ts';

describe('scopeOf', () => {
  test('distinct actions in order, space-separated', () => {
    const grants: Grant[] = [
      { action: 'crm:read', resource: 'crm/1' },
      { action: 'pay:*', resource: '*' },
      { action: 'crm:read', resource: 'crm/2' },
    ];
    assert.equal(scopeOf(grants), 'crm:read pay:*');
    assert.equal(scopeOf([]), '');
  });
  test('refuses a malformed action rather than emit a broken scope', () => {
    assert.throws(() => scopeOf([{ action: 'a b', resource: 'r' }]), { code: 'WARRANT_GRANT_INVALID' });
  });
});

describe('grantsFromScope', () => {
  test('one grant per distinct token, on the given resource', () => {
    assert.deepEqual(grantsFromScope('crm:read pay:* crm:read'), [
      { action: 'crm:read', resource: '*' },
      { action: 'pay:*', resource: '*' },
    ]);
    assert.deepEqual(grantsFromScope('openid', 'https://api.example/*'), [
      { action: 'openid', resource: 'https://api.example/*' },
    ]);
    assert.deepEqual(grantsFromScope(''), []);
  });
  test('round-trips with scopeOf', () => {
    const scope = 'a b:c d/e-f_g.h *';
    assert.equal(scopeOf(grantsFromScope(scope)), scope);
  });
  test('refuses bad separators, RFC 6749 excluded characters and non-action tokens', () => {
    for (const scope of [
      ' a',
      'a ',
      'a  b',
      'a\tb',
      'a"b',
      'a\\b',
      'é',
      'a\nb',
      'a@b',
      'a*b',
      '*a',
      'x'.repeat(201),
    ]) {
      assert.throws(() => grantsFromScope(scope), { code: 'WARRANT_GRANT_INVALID' }, JSON.stringify(scope));
    }
    assert.throws(() => grantsFromScope(3 as unknown as string), { code: 'WARRANT_GRANT_INVALID' });
    assert.throws(() => grantsFromScope(Array.from({ length: 65 }, (_, i) => `s${i}`).join(' ')), {
      code: 'WARRANT_GRANT_INVALID',
    });
  });
  test('refuses a malformed resource', () => {
    for (const resource of ['', 'a b', 'a*b']) {
      assert.throws(() => grantsFromScope('a', resource), { code: 'WARRANT_GRANT_INVALID' });
    }
  });
});
