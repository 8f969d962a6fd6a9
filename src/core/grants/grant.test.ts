import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GrantError } from '../errors.ts';
import { DATA_CLASSES } from './data-class.ts';
import { type Grant, isValidGrant, MAX_GRANTS, parseGrant, parseGrants } from './grant.ts';

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '(unprintable)';
  }
}

function invalid(value: unknown): void {
  assert.throws(
    () => parseGrants([value]),
    (e: unknown) => e instanceof GrantError && e.code === 'WARRANT_GRANT_INVALID',
    show(value),
  );
  assert.ok(!isValidGrant(value), show(value));
}

const base = { action: 'crm:read', resource: 'crm/*' };
const withConstraint = (key: string, value: unknown) => ({ ...base, constraints: { [key]: value } });

describe('parseGrants', () => {
  test('accepts every constraint kind and returns frozen deep copies', () => {
    const refund = {
      action: 'payments:refund',
      resource: 'payments/*',
      constraints: {
        max_amount: 500,
        max_rows: 0.5,
        data_class: 'confidential',
        destination: ['https://bank.example/*', 'mailto:ops@example.com'],
        currency: ['EUR', 'USD'],
        method: ['POST'],
      },
    };
    const input = [refund, { action: '*', resource: '*' }];
    const out = parseGrants(input);
    assert.deepEqual(out, input);
    assert.notEqual(out[0], refund);
    assert.notEqual(out[0]!.constraints, refund.constraints);
    assert.notEqual(out[0]!.constraints!['currency'], refund.constraints.currency);
    assert.ok(Object.isFrozen(out[0]));
    assert.ok(Object.isFrozen(out[0]!.constraints));
    assert.ok(Object.isFrozen(out[0]!.constraints!['currency']));
    assert.ok(Object.isFrozen(out[0]!.constraints!['destination']));
    refund.constraints.currency.push('GBP');
    assert.deepEqual(out[0]!.constraints!['currency'], ['EUR', 'USD']);
  });

  test('accepts 0 and 64 grants, refuses 65 and non-arrays', () => {
    assert.deepEqual(parseGrants([]), []);
    assert.equal(parseGrants(Array.from({ length: MAX_GRANTS }, () => base)).length, MAX_GRANTS);
    for (const v of [
      Array.from({ length: MAX_GRANTS + 1 }, () => base),
      base,
      'crm:read',
      null,
      undefined,
      {},
    ]) {
      assert.throws(() => parseGrants(v), { code: 'WARRANT_GRANT_INVALID' });
    }
  });

  test('refuses non-objects and unknown members', () => {
    for (const v of [
      null,
      'crm:read',
      3,
      [],
      [base],
      new Map(),
      Object.create({ action: 'a', resource: 'r' }),
    ])
      invalid(v);
    invalid({ ...base, extra: 1 });
    invalid({ ...base, type: 'x' });
    invalid({ action: 'crm:read' });
    invalid({ resource: 'crm/*' });
  });

  test('refuses malformed action and resource patterns', () => {
    for (const action of ['', 'a b', 'cr*m', '*x', 'a**', 'é', 'x'.repeat(201), 1, null])
      invalid({ ...base, action });
    for (const resource of ['', 'a b', 'a*b', '**', 'r'.repeat(2049), '\u0000', 1, ['a']])
      invalid({ ...base, resource });
  });

  test('constraints must be a plain object', () => {
    for (const c of [null, [], 'x', 1, true, new Date(0)]) invalid({ ...base, constraints: c });
    assert.deepEqual(parseGrant({ ...base, constraints: {} }), { ...base, constraints: {} });
    assert.deepEqual(parseGrant({ ...base, constraints: undefined }), base);
    invalid({
      ...base,
      constraints: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, ['a']])),
    });
  });

  test('numeric maxima: finite numbers >= 0 only', () => {
    assert.equal(parseGrant(withConstraint('max_amount', 0)).constraints!['max_amount'], 0);
    assert.ok(Object.is(parseGrant(withConstraint('max_amount', -0)).constraints!['max_amount'], 0));
    assert.equal(
      parseGrant(withConstraint('max_rows_per_call', 12.5)).constraints!['max_rows_per_call'],
      12.5,
    );
    for (const v of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5', [5], null, true, { max: 5 }]) {
      invalid(withConstraint('max_amount', v));
    }
    for (const key of ['max_', 'max_Amount', 'max-amount', 'max_a mount']) invalid(withConstraint(key, 5));
    invalid(withConstraint('max_amount', ['a']));
    // keys starting with max_ are reserved for maxima, whatever the value
    invalid(withConstraint('max_', ['a']));
    invalid(withConstraint('max_x-y', ['a']));
  });

  test('data_class: one of the ordered classes', () => {
    assert.deepEqual(DATA_CLASSES, ['public', 'internal', 'confidential', 'restricted']);
    for (const c of DATA_CLASSES) assert.ok(isValidGrant(withConstraint('data_class', c)));
    for (const v of ['secret', 'Public', '', 1, ['public'], null]) invalid(withConstraint('data_class', v));
  });

  test('destination: non-empty array of distinct resource patterns', () => {
    assert.ok(isValidGrant(withConstraint('destination', ['https://x/*', '*', 'a'])));
    for (const v of [
      [],
      'https://x/*',
      ['a b'],
      ['a*b'],
      [''],
      ['a', 'a'],
      [1],
      [['a']],
      Array(65).fill('x'),
    ]) {
      invalid(withConstraint('destination', v));
    }
  });

  test('enumerations: lowercase keys, non-empty arrays of distinct non-empty strings', () => {
    assert.ok(isValidGrant(withConstraint('currency', ['EUR', 'USD'])));
    assert.ok(isValidGrant(withConstraint('method', ['GET'])));
    assert.ok(isValidGrant(withConstraint('a1_b', ['x y', '*'])));
    for (const v of [
      [],
      ['EUR', 'EUR'],
      [''],
      [1],
      ['a', 2],
      'EUR',
      3,
      true,
      false,
      null,
      { EUR: true },
      [[]],
    ]) {
      invalid(withConstraint('currency', v));
    }
    invalid(withConstraint('currency', ['x'.repeat(257)]));
    // sparse arrays have holes, not strings
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is being tested
    invalid(withConstraint('currency', [, 'EUR']));
  });

  test('unknown kinds and bad keys are refused', () => {
    for (const key of [
      'Currency',
      '_x',
      '1x',
      'a-b',
      'a.b',
      '',
      'k'.repeat(65),
      '__proto__',
      'constructor ',
    ]) {
      invalid(withConstraint(key, ['x']));
    }
    invalid(withConstraint('nested', { a: ['x'] }));
    invalid(withConstraint('enabled', true));
    invalid(withConstraint('limit', 5));
    invalid(withConstraint('label', 'x'));
    invalid(withConstraint('note', null));
  });

  test('unreadable input is refused, not thrown through', () => {
    const hostile = {
      action: 'a',
      get resource(): string {
        throw new Error('boom');
      },
    };
    invalid(hostile);
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('boom');
        },
      },
    );
    invalid(proxy);
  });

  test('a parsed grant parses to itself', () => {
    const g: Grant = parseGrant(withConstraint('currency', ['EUR']));
    assert.equal(parseGrant(g), g);
    assert.equal(parseGrants([g])[0], g);
  });
});
