import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GATEWAY_STEPS } from './index.ts';

test('the request path, in order: nothing is read before the head, decided before the guard, forwarded before the record', () => {
  assert.deepEqual(
    GATEWAY_STEPS.map((s) => s.name),
    [
      'check-head',
      'authenticate',
      'limit-body',
      'verify-signature',
      'read-call',
      'guard',
      'check-pins',
      'check-breakers',
      'decide',
      'bound',
      'throttle',
      'sandbox',
      'reserve-budget',
      'record',
      'forward',
    ],
  );
});
