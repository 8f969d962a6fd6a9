import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GrantError } from '../errors.ts';
import type { Grant } from './grant.ts';
import { isWithin } from './is-within.ts';
import { narrow } from './narrow.ts';

const g = (action: string, resource: string, constraints?: Record<string, unknown>): Grant =>
  constraints === undefined ? { action, resource } : { action, resource, constraints };

function notHeld(requested: Grant[], held: Grant[], mention?: string): void {
  assert.throws(
    () => narrow(requested, held),
    (e: unknown) => {
      assert.ok(e instanceof GrantError);
      assert.equal(e.code, 'WARRANT_GRANT_NOT_HELD');
      if (mention !== undefined) assert.ok(e.message.includes(mention), e.message);
      return true;
    },
  );
}

describe('narrow: patterns', () => {
  test('takes the more specific pattern on each side', () => {
    assert.deepEqual(narrow([g('crm:*', 'crm/1')], [g('crm:read', 'crm/*')]), [g('crm:read', 'crm/1')]);
    assert.deepEqual(narrow([g('crm:read', 'crm/*')], [g('crm:*', '*')]), [g('crm:read', 'crm/*')]);
  });
  test('a requested grant meeting no held grant is NOT_HELD and named', () => {
    notHeld([g('pay:refund', 'pay/*')], [g('crm:*', '*')], '"pay:refund" on "pay/*"');
    notHeld([g('crm:read', 'crm/1'), g('crm:write', 'crm/1')], [g('crm:read', '*')], '"crm:write"');
    notHeld([g('crm:read', 'crm/1')], []);
  });
  test('no request gives no grants', () => {
    assert.deepEqual(narrow([], [g('*', '*')]), []);
  });
  test('a request meets every held grant it overlaps; identical meets are kept once', () => {
    const out = narrow(
      [g('crm:*', 'crm/*')],
      [g('crm:read', '*'), g('crm:write', 'crm/1'), g('crm:read', 'crm/*')],
    );
    assert.deepEqual(out, [g('crm:read', 'crm/*'), g('crm:write', 'crm/1')]);
  });
});

describe('narrow: constraints', () => {
  test('maxima take the minimum', () => {
    assert.deepEqual(narrow([g('a', 'r', { max_amount: 50 })], [g('a', 'r', { max_amount: 20 })]), [
      g('a', 'r', { max_amount: 20 }),
    ]);
    assert.deepEqual(narrow([g('a', 'r', { max_amount: 5 })], [g('a', 'r', { max_amount: 20 })]), [
      g('a', 'r', { max_amount: 5 }),
    ]);
  });
  test('data_class takes the lower class', () => {
    assert.deepEqual(
      narrow([g('a', 'r', { data_class: 'restricted' })], [g('a', 'r', { data_class: 'internal' })]),
      [g('a', 'r', { data_class: 'internal' })],
    );
  });
  test('enumerations intersect; an empty intersection is no meet', () => {
    assert.deepEqual(
      narrow([g('a', 'r', { currency: ['USD', 'GBP', 'EUR'] })], [g('a', 'r', { currency: ['EUR', 'USD'] })]),
      [g('a', 'r', { currency: ['USD', 'EUR'] })],
    );
    notHeld([g('a', 'r', { currency: ['GBP'] })], [g('a', 'r', { currency: ['EUR', 'USD'] })]);
  });
  test('destinations keep the patterns within the other side; none is no meet', () => {
    const out = narrow(
      [g('a', 'r', { destination: ['https://x/*', 'mailto:a@b', 'ftp://z'] })],
      [g('a', 'r', { destination: ['https://x/api/*', 'mailto:*'] })],
    );
    assert.deepEqual(out, [g('a', 'r', { destination: ['mailto:a@b', 'https://x/api/*'] })]);
    notHeld(
      [g('a', 'r', { destination: ['https://evil/*'] })],
      [g('a', 'r', { destination: ['https://x/*'] })],
    );
  });
  test('a constraint on one side only is kept', () => {
    assert.deepEqual(narrow([g('a', 'r', { max_rows: 3 })], [g('a', 'r', { data_class: 'public' })]), [
      g('a', 'r', { max_rows: 3, data_class: 'public' }),
    ]);
    assert.deepEqual(narrow([g('a', 'r')], [g('a', 'r', { method: ['GET'] })]), [
      g('a', 'r', { method: ['GET'] }),
    ]);
  });
  test('an empty meet against one held grant does not hide another that meets', () => {
    const out = narrow(
      [g('pay:refund', 'pay/1', { currency: ['GBP'] })],
      [g('pay:*', '*', { currency: ['EUR'] }), g('pay:refund', 'pay/*', { currency: ['GBP', 'EUR'] })],
    );
    assert.deepEqual(out, [g('pay:refund', 'pay/1', { currency: ['GBP'] })]);
  });
  test('output is frozen, valid and within both sides', () => {
    const requested = [
      g('crm:*', 'crm/*', { max_rows: 500, data_class: 'restricted', region: ['eu', 'us'] }),
    ];
    const held = [g('crm:read', '*', { max_rows: 100, data_class: 'internal', destination: ['crm/*'] })];
    const out = narrow(requested, held);
    assert.deepEqual(out, [
      g('crm:read', 'crm/*', {
        max_rows: 100,
        data_class: 'internal',
        region: ['eu', 'us'],
        destination: ['crm/*'],
      }),
    ]);
    assert.ok(Object.isFrozen(out[0]) && Object.isFrozen(out[0]!.constraints));
    assert.ok(isWithin(out[0]!, held[0]!) && isWithin(out[0]!, requested[0]!));
  });
});

describe('narrow: malformed input', () => {
  test('is WARRANT_GRANT_INVALID', () => {
    for (const [r, h] of [
      [[{ action: 'a b', resource: 'r' }], [g('*', '*')]],
      [[g('a', 'r')], [g('*', '*', { flag: true })]],
      [[g('a', 'r', { max_rows: -1 })], [g('*', '*')]],
      ['a', [g('*', '*')]],
      [[g('a', 'r')], null],
    ] as [Grant[], Grant[]][]) {
      assert.throws(() => narrow(r, h), { code: 'WARRANT_GRANT_INVALID' });
    }
  });
  test('more than 64 resulting grants is WARRANT_GRANT_INVALID', () => {
    const held = Array.from({ length: 65 }, (_, i) => g(`a:${i}`, '*'));
    assert.equal(narrow([g('a:*', '*')], held.slice(0, 64)).length, 64);
    assert.throws(() => narrow([g('a:*', '*')], held), { code: 'WARRANT_GRANT_INVALID' });
  });
});
