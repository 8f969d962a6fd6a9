import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadDefaultPolicySet } from './policy-set.ts';
import type { AuthorizationRequest, CedarValue } from './types.ts';

const policies = loadDefaultPolicySet();

const agent = { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/executor' };
const tool = { type: 'Warrant::Resource', id: 'https://tools.example.org/payments' };

function call(context: Record<string, CedarValue>): AuthorizationRequest {
  return {
    principal: agent,
    action: { type: 'Warrant::Action', id: 'call' },
    resource: tool,
    context: {
      action: 'payments:refund',
      impact: 'medium',
      risk: 10,
      trustLevel: 1,
      depth: 2,
      person: 'alice',
      dataClassRank: 1,
      approved: false,
      ...context,
    },
    entities: [
      { uid: agent, attrs: { tier: 'executor', trustLevel: 1, owner: 'alice' }, parents: [] },
      { uid: tool, attrs: {}, parents: [] },
    ],
  };
}

describe('default per-call policy (action.cedar)', () => {
  test('a low-risk call is allowed', () => {
    assert.deepEqual(policies.authorize(call({ risk: 10 })).reasons, ['call-low-risk']);
  });

  test('a higher-risk call without approval is denied by default', () => {
    const decision = policies.authorize(call({ risk: 70 }));
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, []);
  });

  test('an approved call is allowed', () => {
    assert.deepEqual(policies.authorize(call({ risk: 70, approved: true })).reasons, ['call-approved']);
  });

  test('critical impact without approval is forbidden whatever the risk', () => {
    const decision = policies.authorize(call({ risk: 5, impact: 'critical' }));
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, ['critical-needs-approval']);
    assert.equal(policies.authorize(call({ risk: 5, impact: 'critical', approved: true })).decision, 'allow');
  });

  test('a call missing a context attribute is denied with the error', () => {
    const { approved: _, ...partial } = call({}).context;
    const decision = policies.authorize({ ...call({}), context: partial });
    assert.equal(decision.decision, 'deny');
    assert.equal(decision.errors.length, 1);
  });
});
