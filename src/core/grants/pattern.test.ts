import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isActionPattern,
  isPattern,
  isResourcePattern,
  patternMatches,
  patternMeet,
  patternWithin,
} from './pattern.ts';

describe('action patterns', () => {
  test('accept the charset with an optional trailing *', () => {
    for (const a of [
      'crm:read',
      'crm:*',
      '*',
      'a',
      'A-Z_0.9:x/y-z',
      'x'.repeat(200),
      `${'x'.repeat(199)}*`,
    ]) {
      assert.ok(isActionPattern(a), a);
    }
  });
  test('refuse empty, too long, foreign characters and inner *', () => {
    for (const a of [
      '',
      'x'.repeat(201),
      'crm read',
      'crm:réad',
      'crm@x',
      '*crm',
      'cr*m',
      '**',
      'a**',
      'a\n',
      7,
      null,
    ]) {
      assert.ok(!isActionPattern(a), String(a));
    }
  });
});

describe('resource patterns', () => {
  test('accept printable ASCII without space, optional trailing *', () => {
    for (const r of ['*', 'crm/*', 'https://api.example.com/v1/x?y=1#z', '!~"', 'r'.repeat(2048)]) {
      assert.ok(isResourcePattern(r), r);
    }
  });
  test('refuse space, control, non-ASCII, inner *, empty and too long', () => {
    for (const r of ['', 'a b', 'a\tb', 'é', 'a*b', '*a', '**', 'r'.repeat(2049), '\x7f', undefined]) {
      assert.ok(!isResourcePattern(r), String(r));
    }
  });
});

describe('patternWithin', () => {
  const cases: [string, string, boolean][] = [
    ['crm:read', 'crm:read', true],
    ['crm:read', 'crm:write', false],
    ['crm:read', 'crm:*', true],
    ['crm:*', 'crm:*', true],
    ['crm:contacts:*', 'crm:*', true],
    ['crm:*', 'crm:read', false],
    ['crm:*', 'crm:contacts:*', false],
    ['crm*', 'crm:*', false],
    ['crm:', 'crm:*', true],
    ['*', '*', true],
    ['anything', '*', true],
    ['*', 'anything*', false],
    ['cr', 'crm:*', false],
    ['a*b', '*', false],
    ['a', 'a*b', false],
    ['', '*', false],
  ];
  for (const [child, parent, expected] of cases) {
    test(`${child} within ${parent} is ${expected}`, () =>
      assert.equal(patternWithin(child, parent), expected));
  }
});

describe('patternMatches / patternMeet / isPattern', () => {
  test('matching', () => {
    assert.ok(patternMatches('crm:*', 'crm:read'));
    assert.ok(patternMatches('crm:*', 'crm:'));
    assert.ok(!patternMatches('crm:*', 'crm'));
    assert.ok(patternMatches('crm:read', 'crm:read'));
    assert.ok(!patternMatches('crm:read', 'crm:readx'));
    assert.ok(!patternMatches('c*m', 'c*m'));
  });
  test('meet is the more specific pattern, or none', () => {
    assert.equal(patternMeet('crm:*', 'crm:read'), 'crm:read');
    assert.equal(patternMeet('crm:read', 'crm:*'), 'crm:read');
    assert.equal(patternMeet('crm:*', 'crm:contacts:*'), 'crm:contacts:*');
    assert.equal(patternMeet('crm:*', 'pay:*'), undefined);
    assert.equal(patternMeet('crm:read', 'crm:write'), undefined);
  });
  test('isPattern is structural', () => {
    assert.ok(isPattern('spiffe://x/agent/*'));
    assert.ok(!isPattern('a*b'));
    assert.ok(!isPattern(''));
  });
});
