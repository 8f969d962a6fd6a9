import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Grant } from './grant.ts';
import { grantsWithin, isWithin } from './is-within.ts';

const g = (action: string, resource: string, constraints?: Record<string, unknown>): Grant =>
  constraints === undefined ? { action, resource } : { action, resource, constraints };

const within = (child: Grant, parent: Grant) => assert.ok(isWithin(child, parent), 'expected within');
const notWithin = (child: Grant, parent: Grant) => assert.ok(!isWithin(child, parent), 'expected not within');

describe('isWithin: patterns', () => {
  test('action and resource must both be within', () => {
    within(g('crm:read', 'crm/1'), g('crm:*', 'crm/*'));
    within(g('crm:*', 'crm/*'), g('*', '*'));
    notWithin(g('crm:*', 'crm/1'), g('crm:read', 'crm/*'));
    notWithin(g('crm:read', 'crm/*'), g('crm:*', 'crm/1'));
    notWithin(g('pay:read', 'crm/1'), g('crm:*', '*'));
    notWithin(g('crm:read', 'pay/1'), g('*', 'crm/*'));
  });
});

describe('isWithin: numeric maxima', () => {
  const parent = g('a', 'r', { max_amount: 100 });
  test('child must carry the key with a value <= the parent', () => {
    within(g('a', 'r', { max_amount: 100 }), parent);
    within(g('a', 'r', { max_amount: 0 }), parent);
    within(g('a', 'r', { max_amount: 99.99 }), parent);
    notWithin(g('a', 'r', { max_amount: 100.01 }), parent);
    notWithin(g('a', 'r'), parent);
    notWithin(g('a', 'r', { max_rows: 1 }), parent);
  });
  test('a malformed maximum on either side is not within', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '50', [50], null, true]) {
      notWithin(g('a', 'r', { max_amount: bad }), parent);
      notWithin(g('a', 'r', { max_amount: 1 }), g('a', 'r', { max_amount: bad }));
    }
  });
});

describe('isWithin: data_class', () => {
  const parent = g('a', 'r', { data_class: 'confidential' });
  test('child class must be at most the parent class', () => {
    within(g('a', 'r', { data_class: 'public' }), parent);
    within(g('a', 'r', { data_class: 'internal' }), parent);
    within(g('a', 'r', { data_class: 'confidential' }), parent);
    notWithin(g('a', 'r', { data_class: 'restricted' }), parent);
    notWithin(g('a', 'r'), parent);
  });
  test('unknown classes are not within', () => {
    notWithin(g('a', 'r', { data_class: 'secret' }), parent);
    notWithin(g('a', 'r', { data_class: 'public' }), g('a', 'r', { data_class: 'top' }));
    notWithin(g('a', 'r', { data_class: 0 }), parent);
  });
});

describe('isWithin: destination', () => {
  const parent = g('a', 'r', { destination: ['https://crm.example/*', 'mailto:ops@example.com'] });
  test('every child pattern within some parent pattern', () => {
    within(g('a', 'r', { destination: ['https://crm.example/api/*'] }), parent);
    within(g('a', 'r', { destination: ['mailto:ops@example.com', 'https://crm.example/x'] }), parent);
    notWithin(g('a', 'r', { destination: ['https://crm.example/x', 'https://evil.example/'] }), parent);
    notWithin(g('a', 'r', { destination: ['mailto:*'] }), parent);
    notWithin(g('a', 'r', { destination: ['*'] }), parent);
    notWithin(g('a', 'r'), parent);
  });
  test('malformed destinations are not within', () => {
    for (const bad of [[], 'https://crm.example/x', ['a b'], ['https://crm.example/*x'], [1], ['x', 'x']]) {
      notWithin(g('a', 'r', { destination: bad }), parent);
      notWithin(g('a', 'r', { destination: ['x'] }), g('a', 'r', { destination: bad }));
    }
  });
});

describe('isWithin: enumerations', () => {
  const parent = g('a', 'r', { currency: ['EUR', 'USD'] });
  test('child set must be a subset', () => {
    within(g('a', 'r', { currency: ['EUR'] }), parent);
    within(g('a', 'r', { currency: ['USD', 'EUR'] }), parent);
    notWithin(g('a', 'r', { currency: ['EUR', 'GBP'] }), parent);
    notWithin(g('a', 'r', { method: ['EUR'] }), parent);
    notWithin(g('a', 'r'), parent);
  });
  test('malformed enumerations are not within', () => {
    for (const bad of [[], ['EUR', 'EUR'], 'EUR', [1], [''], true, { EUR: 1 }, 5]) {
      notWithin(g('a', 'r', { currency: bad }), parent);
      notWithin(g('a', 'r', { currency: ['EUR'] }), g('a', 'r', { currency: bad }));
    }
  });
});

describe('isWithin: missing and added constraints', () => {
  test('a dropped parent constraint widens', () => {
    const parent = g('a', 'r', { max_rows: 10, data_class: 'internal' });
    notWithin(g('a', 'r', { max_rows: 10 }), parent);
    notWithin(g('a', 'r', { data_class: 'internal' }), parent);
    within(g('a', 'r', { max_rows: 10, data_class: 'internal' }), parent);
  });
  test('a constraint only the child has narrows, if well-formed and known', () => {
    const parent = g('a', 'r');
    within(
      g('a', 'r', { max_rows: 10, data_class: 'internal', destination: ['x/*'], currency: ['EUR'] }),
      parent,
    );
    within(g('a', 'r', {}), parent);
    for (const extra of [
      { max_rows: -1 },
      { data_class: 'secret' },
      { destination: [] },
      { currency: [] },
      { nested: { a: 1 } },
      { flag: true },
      { limit: 3 },
      { Currency: ['EUR'] },
      { 'bad-key': ['x'] },
    ]) {
      notWithin(g('a', 'r', extra), parent);
    }
  });
});

describe('isWithin: unvalidated input', () => {
  const parent = g('*', '*');
  test('malformed grants on either side are not within, and nothing throws', () => {
    const bad: unknown[] = [
      null,
      undefined,
      'crm:read',
      42,
      [],
      { action: 'a' },
      { action: 'a', resource: 'r', extra: 1 },
      { action: 'a b', resource: 'r' },
      { action: 'a', resource: 'a*b' },
      { action: 'a', resource: 'r', constraints: [] },
      { action: 'a', resource: 'r', constraints: null },
      {
        action: 'a',
        get resource(): string {
          throw new Error('boom');
        },
      },
    ];
    for (const b of bad) {
      assert.equal(isWithin(b as Grant, parent), false);
      assert.equal(isWithin(parent, b as Grant), false);
      assert.equal(isWithin(b as Grant, b as Grant), false);
    }
  });
});

describe('grantsWithin', () => {
  const parents = [
    g('crm:*', 'crm/*', { max_rows: 100 }),
    g('pay:refund', 'pay/*', { currency: ['EUR', 'USD'] }),
  ];
  test('every child within at least one parent', () => {
    assert.ok(grantsWithin([], parents));
    assert.ok(grantsWithin([], []));
    assert.ok(grantsWithin([g('crm:read', 'crm/1', { max_rows: 5 })], parents));
    assert.ok(
      grantsWithin(
        [g('crm:read', 'crm/1', { max_rows: 5 }), g('pay:refund', 'pay/9', { currency: ['EUR'] })],
        parents,
      ),
    );
    assert.ok(!grantsWithin([g('crm:read', 'crm/1', { max_rows: 5 }), g('pay:refund', 'pay/9')], parents));
    assert.ok(!grantsWithin([g('crm:read', 'crm/1', { max_rows: 5 })], []));
  });
  test('a child must fit one parent whole, not pieces of several', () => {
    const split = [
      g('mail:send', '*', { destination: ['a/*'] }),
      g('mail:send', '*', { destination: ['b/*'] }),
    ];
    assert.ok(grantsWithin([g('mail:send', 'x', { destination: ['a/1'] })], split));
    assert.ok(!grantsWithin([g('mail:send', 'x', { destination: ['a/1', 'b/1'] })], split));
  });
  test('non-arrays and holes are not within', () => {
    assert.ok(!grantsWithin(null as unknown as Grant[], parents));
    assert.ok(!grantsWithin([g('crm:read', 'crm/1', { max_rows: 5 })], 'x' as unknown as Grant[]));
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is being tested
    assert.ok(!grantsWithin([, g('crm:read', 'crm/1', { max_rows: 5 })] as Grant[], parents));
  });
});
