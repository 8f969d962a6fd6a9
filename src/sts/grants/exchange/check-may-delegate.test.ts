import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  agentIdOf,
  agentRecord,
  contextWith,
  verifiedParent,
} from '../../../../test/support/exchange-context.ts';
import type { MayDelegate } from '../../../core/tokens/index.ts';
import type { Recipient } from './check-audience.ts';
import { checkMayDelegate } from './check-may-delegate.ts';

const executor = agentRecord('executor', { tier: 'executor' });
const toAgent: Recipient = {
  party: { kind: 'agent', id: executor.id, tier: 'executor', trustLevel: 2, owner: 'o' },
  agent: executor,
};
const toResource: Recipient = { party: { kind: 'resource', id: 'https://tool.example/api' }, agent: null };
const check = (may_delegate: MayDelegate, audience: string, recipient: Recipient) =>
  checkMayDelegate(contextWith({ parent: verifiedParent({ may_delegate }), audience, recipient }));
const forbidden = { error: 'invalid_target', code: 'WARRANT_CHAIN_DELEGATION_FORBIDDEN' };

describe('checkMayDelegate', () => {
  test('an audience within one of the parent may_delegate patterns passes', () => {
    check({ aud: ['https://tool.example/*'] }, 'https://tool.example/api', toResource);
    check({ aud: ['https://x', 'spiffe://warrant.test/agent/*'] }, executor.id, toAgent);
  });

  test('a parent that may not delegate, or not to that audience, refuses', () => {
    assert.throws(() => check(false, executor.id, toAgent), forbidden);
    assert.throws(() => check({ aud: ['https://tool.example/*'] }, executor.id, toAgent), {
      ...forbidden,
      message: 'the subject warrant does not allow delegation to that audience',
    });
  });

  test('tiers, when named, admit agents of those tiers only (a resource has none)', () => {
    check({ aud: ['*'], tiers: ['executor'] }, executor.id, toAgent);
    assert.throws(() => check({ aud: ['*'], tiers: ['planner'] }, agentIdOf('executor'), toAgent), {
      ...forbidden,
      message: 'the subject warrant does not allow delegation to that tier',
    });
    assert.throws(
      () => check({ aud: ['*'], tiers: ['executor'] }, 'https://tool.example/api', toResource),
      forbidden,
    );
  });
});
