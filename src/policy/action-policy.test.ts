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
    assert.deepEqual(policies.authorize(call({ risk: 10 })).reasons, ['call-granted']);
  });

  // Risk no longer denies here: bounded autonomy (the gateway's `bound` step) turns a call above its
  // agent's bound into approval_required (test/gateway/approvals.test.ts).
  test('a high-risk call, critical impact included, is left to bounded autonomy', () => {
    assert.deepEqual(policies.authorize(call({ risk: 70 })).reasons, ['call-granted']);
    assert.equal(policies.authorize(call({ risk: 95, impact: 'critical' })).decision, 'allow');
  });

  test('another action than call is denied by default', () => {
    const decision = policies.authorize({ ...call({}), action: { type: 'Warrant::Action', id: 'delegate' } });
    assert.equal(decision.decision, 'deny');
  });

  test('a call missing a context attribute is denied with the error', () => {
    const { approved: _, ...partial } = call({}).context;
    const decision = policies.authorize({ ...call({}), context: partial });
    assert.equal(decision.decision, 'deny');
    assert.equal(decision.errors.length, 1);
  });
});
