import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentIdOf, agentRecord, contextWith } from '../../../../test/support/exchange-context.ts';
import type { AgentRecord } from '../../../store/ports.ts';
import type { Person } from '../../person-assertion.ts';
import { checkAudience, checkPersonResources } from './check-audience.ts';

/** A caller and a store holding `agents`; counts lookups. */
function audienceContext(audience: string, agents: AgentRecord[] = [], caller = agentRecord('planner')) {
  const lookups: string[] = [];
  const store = {
    agents: {
      get: async (id: string) => {
        lookups.push(id);
        return agents.find((a) => a.id === id) ?? null;
      },
    },
  };
  return { ctx: contextWith({ caller, audience, services: { store } as never }), lookups };
}

const notAllowed = { error: 'invalid_target', code: 'WARRANT_AUDIENCE_NOT_ALLOWED' };

describe('checkAudience', () => {
  test('a resource the caller may obtain warrants for is the recipient, without a lookup', async () => {
    const { ctx, lookups } = audienceContext('https://tool.example/api');
    await checkAudience(ctx);
    assert.deepEqual(ctx.recipient, {
      party: { kind: 'resource', id: 'https://tool.example/api' },
      agent: null,
    });
    assert.deepEqual(lookups, []);
  });

  test('an agent audience is looked up and becomes the recipient party', async () => {
    const executor = agentRecord('executor', { tier: 'executor', trustLevel: 0 });
    const { ctx } = audienceContext(executor.id, [executor]);
    await checkAudience(ctx);
    assert.equal(ctx.recipient.agent, executor);
    assert.deepEqual(ctx.recipient.party, {
      kind: 'agent',
      id: executor.id,
      tier: 'executor',
      trustLevel: 0,
      owner: 'alice@example.org',
    });
  });

  test('patterns, whitespace, control characters and over-long audiences are refused before any lookup', async () => {
    for (const audience of [
      'spiffe://warrant.test/agent/*',
      'https://tool.example/a b',
      'https://t\u0007',
      `https://tool.example/${'x'.repeat(2048)}`,
    ]) {
      const { ctx, lookups } = audienceContext(audience);
      await assert.rejects(checkAudience(ctx), {
        ...notAllowed,
        message: 'audience must be one recipient identifier',
      });
      assert.deepEqual(lookups, []);
    }
  });

  test("an audience outside the caller's allowed audiences is refused before any lookup", async () => {
    const { ctx, lookups } = audienceContext('spiffe://other.test/agent/x');
    await assert.rejects(checkAudience(ctx), {
      ...notAllowed,
      message: 'this agent may not obtain warrants for that audience',
    });
    assert.deepEqual(lookups, []);
  });

  test('an unregistered or disabled agent audience is refused', async () => {
    const { ctx } = audienceContext(agentIdOf('ghost'));
    await assert.rejects(checkAudience(ctx), { error: 'invalid_target', code: 'WARRANT_AGENT_UNKNOWN' });
    const disabled = agentRecord('off', { status: 'disabled' });
    const second = audienceContext(disabled.id, [disabled]);
    await assert.rejects(checkAudience(second.ctx), {
      error: 'invalid_target',
      code: 'WARRANT_AGENT_DISABLED',
    });
    assert.equal(second.ctx.recipient, undefined);
  });
});

describe('checkPersonResources', () => {
  const person = (resources?: string[]) => ({ sub: 'alice', ...(resources ? { resources } : {}) }) as Person;

  test('an assertion naming no resources bounds nothing; one naming resources admits those only', () => {
    checkPersonResources(contextWith({ person: person(), audience: 'https://any' }));
    checkPersonResources(contextWith({ person: person(['https://a', 'https://b']), audience: 'https://b' }));
    assert.throws(
      () => checkPersonResources(contextWith({ person: person(['https://a']), audience: 'https://b' })),
      notAllowed,
    );
  });
});
