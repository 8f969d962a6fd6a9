import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DecisionCache } from './decision-cache.ts';
import { type AgentParty, type DelegationInput, decideDelegation, type PersonParty } from './delegation.ts';
import { loadDefaultPolicySet } from './policy-set.ts';

const policies = loadDefaultPolicySet();

const alice: PersonParty = { kind: 'person', id: 'alice', issuer: 'https://idp.example.org' };
const planner: AgentParty = {
  kind: 'agent',
  id: 'spiffe://example.org/agent/planner',
  tier: 'planner',
  trustLevel: 2,
  owner: 'alice',
};
const executor: AgentParty = {
  kind: 'agent',
  id: 'spiffe://example.org/agent/executor',
  tier: 'executor',
  trustLevel: 0,
  owner: 'alice',
};

function input(overrides: Partial<DelegationInput>): DelegationInput {
  return {
    delegator: alice,
    recipient: planner,
    grants: [{ action: 'crm:read', resource: 'crm/*' }],
    depth: 0,
    person: 'alice',
    ...overrides,
  };
}

describe('decideDelegation with the default policies', () => {
  test('a person may delegate to a planner or executor agent', () => {
    const decision = decideDelegation(policies, input({ task: 'quarterly report' }));
    assert.equal(decision.decision, 'allow');
    assert.deepEqual(decision.reasons, ['grants[0] crm:read on crm/*: person-to-agent']);
    assert.deepEqual(decision.errors, []);
    assert.equal(decision.policyVersion, policies.version);
    assert.equal(decision.grants[0]?.decision, 'allow');
    assert.deepEqual(decision.grants[0]?.reasons, ['person-to-agent']);
    assert.equal(decideDelegation(policies, input({ recipient: executor })).decision, 'allow');
  });

  test('a person may not delegate to an agent of another tier', () => {
    const decision = decideDelegation(policies, input({ recipient: { ...planner, tier: 'observer' } }));
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, ['grants[0] crm:read on crm/*: no policy permits']);
  });

  test('an agent may delegate onward to an agent, but not restricted data', () => {
    const onward = input({ delegator: planner, recipient: executor, depth: 1 });
    const confidential = decideDelegation(policies, {
      ...onward,
      grants: [{ action: 'crm:read', resource: 'crm/*', constraints: { data_class: 'confidential' } }],
    });
    assert.equal(confidential.decision, 'allow');
    assert.deepEqual(confidential.reasons, ['grants[0] crm:read on crm/*: agent-to-agent']);
    const restricted = decideDelegation(policies, {
      ...onward,
      grants: [{ action: 'hr:read', resource: 'hr/*', constraints: { data_class: 'restricted' } }],
    });
    assert.equal(restricted.decision, 'deny');
    assert.deepEqual(restricted.reasons, ['grants[0] hr:read on hr/*: no policy permits']);
  });

  test('the highest of several data classes counts', () => {
    const decision = decideDelegation(
      policies,
      input({
        delegator: planner,
        recipient: executor,
        depth: 1,
        grants: [
          { action: 'hr:read', resource: 'hr/*', constraints: { data_class: ['internal', 'restricted'] } },
        ],
      }),
    );
    assert.equal(decision.decision, 'deny');
  });

  test('an admin action to a low-trust agent is denied, naming the grant and the policy', () => {
    const decision = decideDelegation(
      policies,
      input({
        recipient: executor,
        grants: [
          { action: 'crm:read', resource: 'crm/*' },
          { action: 'admin:users', resource: 'iam/*' },
        ],
      }),
    );
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, ['grants[1] admin:users on iam/*: admin-needs-trust']);
    assert.deepEqual(
      decision.grants.map((g) => g.decision),
      ['allow', 'deny'],
    );
    assert.equal(
      decideDelegation(
        policies,
        input({ recipient: planner, grants: [{ action: 'admin:users', resource: 'iam/*' }] }),
      ).decision,
      'allow',
    );
  });

  test('the catch-all action to a low-trust agent is denied too', () => {
    const decision = decideDelegation(
      policies,
      input({ recipient: executor, grants: [{ action: '*', resource: '*' }] }),
    );
    assert.deepEqual(decision.reasons, ['grants[0] * on *: admin-needs-trust']);
  });

  test('empty grants are denied', () => {
    const decision = decideDelegation(policies, input({ grants: [] }));
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, ['no grants requested']);
    assert.deepEqual(decision.grants, []);
  });

  test('chains deeper than the limit are denied', () => {
    const decision = decideDelegation(policies, input({ delegator: planner, recipient: executor, depth: 5 }));
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, ['grants[0] crm:read on crm/*: depth-limit']);
  });

  test('an agent may hand a grant to a tool; a person may not, by default', () => {
    const tool = { kind: 'resource', id: 'https://tools.example.org/crm' } as const;
    const fromAgent = decideDelegation(policies, input({ delegator: planner, recipient: tool, depth: 1 }));
    assert.deepEqual(fromAgent.reasons, ['grants[0] crm:read on crm/*: agent-to-resource']);
    assert.equal(decideDelegation(policies, input({ recipient: tool })).decision, 'deny');
  });

  test('destinations and amounts reach the policy context', () => {
    const decision = decideDelegation(
      policies,
      input({
        grants: [
          {
            action: 'payments:refund',
            resource: 'payments/*',
            constraints: { destination: ['b', 'a'], max_amount: 500 },
          },
        ],
      }),
    );
    assert.equal(decision.decision, 'allow');
  });

  test('an unreadable constraint denies that grant with the error', () => {
    const decision = decideDelegation(
      policies,
      input({ grants: [{ action: 'crm:read', resource: 'crm/*', constraints: { data_class: 'secret' } }] }),
    );
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, ['grants[0] crm:read on crm/*: error']);
    assert.match(
      decision.errors[0]!,
      /^grants\[0\]: data_class must be one of public, internal, confidential, restricted$/,
    );
  });

  test('repeated identical delegations are cache lookups, one per grant', () => {
    const cache = new DecisionCache();
    const twoGrants = input({
      grants: [
        { action: 'crm:read', resource: 'crm/*' },
        { action: 'crm:write', resource: 'crm/*' },
      ],
    });
    const first = decideDelegation(policies, twoGrants, cache);
    const second = decideDelegation(policies, twoGrants, cache);
    assert.deepEqual(second, first);
    assert.deepEqual([cache.hits, cache.misses], [2, 2]);
    decideDelegation(policies, { ...twoGrants, task: 'another task' }, cache);
    assert.deepEqual([cache.hits, cache.misses], [2, 4]);
  });

  test('malformed input built by the caller is a TypeError', () => {
    assert.throws(() => decideDelegation(policies, input({ depth: -1 })), TypeError);
    assert.throws(() => decideDelegation(policies, input({ recipient: alice as never })), TypeError);
    assert.throws(
      () => decideDelegation(policies, input({ recipient: { ...planner, trustLevel: 1.5 } })),
      TypeError,
    );
    assert.throws(() => decideDelegation(policies, input({ grants: undefined as never })), TypeError);
  });
});
