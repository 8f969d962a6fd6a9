import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentRecord, contextWith, verifiedParent } from '../../../../test/support/exchange-context.ts';
import type { Recipient } from './check-audience.ts';
import { limitMayDelegate, rootMayDelegate } from './limit-may-delegate.ts';

const executor = agentRecord('executor', { allowedAudiences: ['https://tool.example/*'] });
const toAgent: Recipient = {
  party: { kind: 'agent', id: executor.id, tier: 'planner', trustLevel: 2, owner: 'o' },
  agent: executor,
};
const toResource: Recipient = { party: { kind: 'resource', id: 'https://tool.example/api' }, agent: null };

describe('limitMayDelegate (hop)', () => {
  const parent = verifiedParent({ may_delegate: { aud: ['https://tool.example/*'], tiers: ['planner'] } });

  test("a resource may not delegate; an agent keeps the parent's may_delegate by default", () => {
    const resource = contextWith({ parent, recipient: toResource });
    limitMayDelegate(resource);
    assert.equal(resource.mayDelegate, false);
    const agent = contextWith({ parent, recipient: toAgent });
    limitMayDelegate(agent);
    assert.equal(agent.mayDelegate, parent.claims.may_delegate);
  });

  test("delegate_to within the parent's narrows it, keeping the tiers", () => {
    const ctx = contextWith({ parent, recipient: toAgent }, { delegate_to: 'https://tool.example/api' });
    limitMayDelegate(ctx);
    assert.deepEqual(ctx.mayDelegate, { aud: ['https://tool.example/api'], tiers: ['planner'] });
    const untiered = verifiedParent({ may_delegate: { aud: ['https://tool.example/*'] } });
    const plain = contextWith(
      { parent: untiered, recipient: toAgent },
      { delegate_to: 'https://tool.example/x' },
    );
    limitMayDelegate(plain);
    assert.deepEqual(plain.mayDelegate, { aud: ['https://tool.example/x'] });
  });

  test('delegate_to wider than the parent allows is WARRANT_CHAIN_DELEGATION_FORBIDDEN', () => {
    assert.throws(
      () =>
        limitMayDelegate(
          contextWith(
            { parent, recipient: toAgent },
            { delegate_to: 'https://tool.example/* https://other' },
          ),
        ),
      { error: 'invalid_target', code: 'WARRANT_CHAIN_DELEGATION_FORBIDDEN' },
    );
  });

  test('a malformed delegate_to is refused even for a resource', () => {
    assert.throws(
      () => limitMayDelegate(contextWith({ parent, recipient: toResource }, { delegate_to: ' ' })),
      {
        code: 'WARRANT_REQUEST_MALFORMED',
      },
    );
  });
});

describe('rootMayDelegate', () => {
  test('an agent may delegate to what it may obtain warrants for, or to delegate_to; a resource may not', () => {
    const byDefault = contextWith({ recipient: toAgent });
    rootMayDelegate(byDefault);
    assert.deepEqual(byDefault.mayDelegate, { aud: ['https://tool.example/*'] });
    assert.notEqual((byDefault.mayDelegate as { aud: string[] }).aud, executor.allowedAudiences);
    const asked = contextWith({ recipient: toAgent }, { delegate_to: 'https://a https://b' });
    rootMayDelegate(asked);
    assert.deepEqual(asked.mayDelegate, { aud: ['https://a', 'https://b'] });
    const resource = contextWith({ recipient: toResource }, { delegate_to: 'https://a' });
    rootMayDelegate(resource);
    assert.equal(resource.mayDelegate, false);
  });
});
