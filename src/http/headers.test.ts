import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WarrantError } from '../core/errors.ts';
import { singleHeader } from './headers.ts';

test('singleHeader: the one value, or undefined when absent', () => {
  assert.equal(singleHeader({ dpop: ['p'] }, 'dpop'), 'p');
  assert.equal(singleHeader({}, 'dpop'), undefined);
});

test('singleHeader: a repeat is refused with a code, never resolved by picking one', () => {
  assert.throws(
    () => singleHeader({ authorization: ['a', 'b'] }, 'authorization'),
    (e: unknown) =>
      e instanceof WarrantError &&
      e.code === 'WARRANT_REQUEST_MALFORMED' &&
      /authorization is repeated/.test(e.message),
  );
  // A comma in a value that can hold none is a repeat joined into one line.
  assert.throws(
    () =>
      singleHeader({ dpop: ['a,b'] }, 'dpop', {
        noComma: true,
        code: 'WARRANT_DPOP_INVALID',
        message: 'two',
      }),
    (e: unknown) => e instanceof WarrantError && e.code === 'WARRANT_DPOP_INVALID' && e.message === 'two',
  );
  assert.equal(singleHeader({ 'warrant-chain': ['a, b'] }, 'warrant-chain'), 'a, b');
});
