import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildChain } from '../../test/support/chains.ts';
import type { Grant } from '../core/grants/index.ts';
import { ActionCatalog, type CatalogAction } from '../guard/catalog.ts';
import type { PolicySet } from '../policy/index.ts';
import { authorizeCall, CallDecisionCache } from './authorize-call.ts';
import type { ParameterReader } from './read-parameters.ts';

const action = new ActionCatalog([
  {
    name: 'payments:refund',
    match: { protocol: 'http', method: 'POST', path: '/refunds' },
    parameters: { amount: { in: 'body', pointer: '/amount' } },
  } as unknown as CatalogAction,
]).actions[0]!;

/** A policy that allows everything and counts how often it was asked. */
function allowAll(): PolicySet & { asked: number } {
  const policy = {
    version: 'test-1',
    asked: 0,
    authorize() {
      policy.asked++;
      return { decision: 'allow', reasons: ['test'], errors: [] };
    },
  };
  return policy as unknown as PolicySet & { asked: number };
}

/** A reader whose body holds `amount`. */
const amount = (value: unknown, ambiguous?: string): ParameterReader => ({
  read: () => ({ json: value }),
  ...(ambiguous === undefined ? {} : { ambiguous }),
});

function decide(
  grants: Grant[],
  reader: ParameterReader | null,
  policy = allowAll(),
  calls?: CallDecisionCache,
) {
  const claims = { ...buildChain(1).claims[0]!, grants };
  return authorizeCall({
    claims,
    action,
    resource: 'payments/1',
    trustLevel: 0,
    policy,
    parameters: reader,
    ...(calls ? { calls } : {}),
  });
}

const small: Grant = { action: 'payments:*', resource: 'payments/*', constraints: { max_amount: 10 } };
const large: Grant = { action: 'payments:refund', resource: 'payments/*', constraints: { max_amount: 1000 } };

describe('authorizeCall with grant constraints', () => {
  test('the first covering grant whose constraints the call meets is used', () => {
    const d = decide([small, large], amount(500));
    assert.equal(d.decision, 'allow');
    assert.deepEqual(d.used, large);
    assert.deepEqual(d.values, { amount: 500 });
    assert.deepEqual(decide([small, large], amount(5)).used, small);
  });

  test('when no covering grant allows the call, the first one’s failure is the answer', () => {
    const d = decide([small, { ...large, constraints: { max_amount: 100 } }], amount(500));
    assert.equal(d.decision, 'deny');
    assert.equal(d.code, 'WARRANT_CONSTRAINT_EXCEEDED');
    assert.equal(d.error, 'insufficient_scope');
    assert.deepEqual(d.used, small);
    assert.deepEqual(d.values, { amount: 500 });
  });

  test('a policy refusal is never reached for a constraint denial, and the policy cache holds no values', () => {
    const policy = allowAll();
    const calls = new CallDecisionCache();
    assert.equal(decide([small], amount(5), policy, calls).decision, 'allow');
    assert.equal(decide([small], amount(5), policy, calls).decision, 'allow');
    assert.equal(policy.asked, 1, 'the second allow came from the cache');
    assert.equal(decide([small], amount(5000), policy, calls).code, 'WARRANT_CONSTRAINT_EXCEEDED');
  });

  test('repeated member names in the arguments refuse the call even under an unconstrained grant', () => {
    const open: Grant = { action: 'payments:*', resource: 'payments/*' };
    assert.equal(decide([open], amount(5)).decision, 'allow');
    const d = decide([open], amount(5, 'the tool arguments repeat a member name'));
    assert.equal(d.code, 'WARRANT_PARAMETER_INVALID');
    assert.equal(d.error, 'access_denied');
  });

  test('listing (no call, parameters null) checks coverage and policy only', () => {
    assert.equal(decide([small], null).decision, 'allow');
    assert.equal(decide([], null).code, 'WARRANT_GRANT_NOT_HELD');
  });
});
