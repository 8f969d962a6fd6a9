import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestedDelegation, requestedGrants, requestedLifetime, requestedTask } from './request-params.ts';

const params = (entries: Record<string, string>) => new Map(Object.entries(entries));
const malformed = { error: 'invalid_request', code: 'WARRANT_REQUEST_MALFORMED' };

describe('requestedGrants', () => {
  test('authorization_details entries of type warrant_grant are the grants, without their type', () => {
    const details = [{ type: 'warrant_grant', action: 'crm:read', resource: 'crm/*' }];
    assert.deepEqual(
      requestedGrants(params({ authorization_details: JSON.stringify(details), scope: 's' })),
      {
        explicit: [{ action: 'crm:read', resource: 'crm/*' }],
        scope: 's',
      },
    );
  });

  test('without authorization_details the scope is passed on; with neither, nothing is asked', () => {
    assert.deepEqual(requestedGrants(params({ scope: 'crm:read' })), {
      explicit: undefined,
      scope: 'crm:read',
    });
    assert.deepEqual(requestedGrants(params({})), { explicit: undefined, scope: undefined });
  });

  test('authorization_details that are not JSON, empty, or of another type are malformed', () => {
    for (const value of [
      '{',
      '[]',
      '{}',
      '[{"type":"payment_initiation","action":"a","resource":"r"}]',
      '[1]',
    ])
      assert.throws(() => requestedGrants(params({ authorization_details: value })), malformed, value);
  });

  test('a warrant_grant that is not a valid grant is WARRANT_GRANT_INVALID', () => {
    assert.throws(
      () => requestedGrants(params({ authorization_details: '[{"type":"warrant_grant","action":""}]' })),
      { error: 'invalid_request', code: 'WARRANT_GRANT_INVALID' },
    );
  });
});

describe('requestedDelegation', () => {
  test('space-separated patterns, absent when not sent', () => {
    assert.deepEqual(requestedDelegation(params({ delegate_to: 'spiffe://a/*  https://b' })), [
      'spiffe://a/*',
      'https://b',
    ]);
    assert.equal(requestedDelegation(params({})), undefined);
  });

  test('blank or more than 32 patterns are malformed', () => {
    assert.throws(() => requestedDelegation(params({ delegate_to: '   ' })), malformed);
    const many = Array.from({ length: 33 }, (_, i) => `https://t${i}`).join(' ');
    assert.throws(() => requestedDelegation(params({ delegate_to: many })), malformed);
  });
});

describe('requestedLifetime', () => {
  test('whole positive seconds, absent when not sent', () => {
    assert.equal(requestedLifetime(params({ requested_lifetime: '60' })), 60);
    assert.equal(requestedLifetime(params({})), undefined);
  });

  test('zero, signs, exponents, fractions and more than seven digits are malformed', () => {
    for (const value of ['0', '-5', '1e3', '1.5', '060', '10000000'])
      assert.throws(() => requestedLifetime(params({ requested_lifetime: value })), malformed, value);
  });
});

describe('requestedTask', () => {
  test('the task sent, else the inherited one', () => {
    assert.equal(requestedTask(params({ task: 'mine' }), 'parent'), 'mine');
    assert.equal(requestedTask(params({}), 'parent'), 'parent');
    assert.equal(requestedTask(params({})), undefined);
  });

  test('more than 256 characters or a control character is malformed, inherited or not', () => {
    assert.throws(() => requestedTask(params({ task: 'x'.repeat(257) })), malformed);
    assert.throws(() => requestedTask(params({ task: 'a\nb' })), malformed);
    assert.throws(() => requestedTask(params({}), 'a\u0000b'), malformed);
    assert.equal(requestedTask(params({ task: 'x'.repeat(256) }))?.length, 256);
  });
});
