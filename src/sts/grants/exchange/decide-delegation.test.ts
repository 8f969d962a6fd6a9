import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentRecord, contextWith, verifiedParent } from '../../../../test/support/exchange-context.ts';
import { DecisionCache, loadDefaultPolicySet } from '../../../policy/index.ts';
import type { Person } from '../../person-assertion.ts';
import { agentParty } from './check-audience.ts';
import { decideHop, decideRoot } from './decide-delegation.ts';

const services = { policy: loadDefaultPolicySet(), decisions: new DecisionCache() } as never;
const alice = { sub: 'alice@example.org', issuer: 'https://idp.example.org' } as Person;
const grants = [{ action: 'crm:read', resource: 'crm/*' }];
const denied = { error: 'invalid_scope', code: 'WARRANT_DELEGATION_DENIED' };

describe('decideRoot', () => {
  test('a person may hand a planner agent grants; not an agent of another tier', () => {
    decideRoot(contextWith({ services, person: alice, caller: agentRecord('planner'), grants }));
    assert.throws(
      () =>
        decideRoot(
          contextWith({ services, person: alice, caller: agentRecord('x', { tier: 'observer' }), grants }),
        ),
      { ...denied, message: /^delegation policy denies: grants\[0\] crm:read on crm\/\*: no policy permits/ },
    );
  });
});

describe('decideHop', () => {
  const executor = agentRecord('executor', { tier: 'executor', trustLevel: 0 });

  test('an agent may delegate onward to an agent, one link deeper', () => {
    decideHop(
      contextWith({
        services,
        parent: verifiedParent(),
        caller: agentRecord('planner'),
        recipient: { party: agentParty(executor), agent: executor },
        grants,
      }),
    );
  });

  test('a link the policy does not admit (deeper than 4 hops) is WARRANT_DELEGATION_DENIED', () => {
    assert.throws(
      () =>
        decideHop(
          contextWith({
            services,
            parent: verifiedParent({ depth: 4, max_depth: 9 }),
            caller: agentRecord('planner'),
            recipient: { party: agentParty(executor), agent: executor },
            grants,
          }),
        ),
      denied,
    );
  });
});
