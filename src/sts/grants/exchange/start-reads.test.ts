import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenHash } from '../../../core/jose/hash.ts';
import { generateSigningKey } from '../../../core/jose/jwk.ts';
import { signCompact } from '../../../core/jose/jws.ts';
import type { AgentRecord, AgentStore } from '../../../store/ports.ts';
import type { ExchangeContext } from './context.ts';
import { agentsWithReads, isRevokedWithReads, startReads } from './start-reads.ts';

const key = generateSigningKey('EdDSA');
const A = 'spiffe://e/agent/a';
const assertion = signCompact({ typ: 'JWT' }, { iss: A, sub: A, aud: 'x', jti: 'j', exp: 9e9 }, key);
const agentA = { id: A, status: 'active' } as AgentRecord;

/** A context over a store that counts its reads; `exchangeReads` answers from `rows` (or fails). */
function setup(params: Record<string, string>, fail = false) {
  const calls: string[] = [];
  const store = {
    agents: {
      get: async (id: string) => {
        calls.push(`agents.get ${id}`);
        return null;
      },
    } as unknown as AgentStore,
    tokens: {
      isRevoked: async (hash: string) => {
        calls.push(`isRevoked ${hash}`);
        return false;
      },
    },
    exchangeReads: async (agentId: string, hash: string) => {
      calls.push(`exchangeReads ${agentId} ${hash}`);
      if (fail) throw new Error('store down');
      return { agent: agentId === A ? agentA : null, revoked: true };
    },
  };
  const ctx = { services: { store }, params: new Map(Object.entries(params)), reads: undefined };
  return { ctx: ctx as unknown as ExchangeContext, calls, store };
}

test('started reads answer the same agent and the same token; anything else still goes to the store', async () => {
  const { ctx, calls, store } = setup({ client_assertion: assertion, subject_token: 'subject.jwt.text' });
  startReads(ctx);
  const hash = tokenHash('subject.jwt.text');
  assert.deepEqual(calls, [`exchangeReads ${A} ${hash}`]);
  const agents = agentsWithReads(store.agents, ctx.reads);
  assert.equal(await agents.get(A), agentA);
  assert.equal(await agents.get('spiffe://e/agent/b'), null);
  assert.equal(await isRevokedWithReads(store.tokens, ctx.reads, hash), true);
  assert.equal(await isRevokedWithReads(store.tokens, ctx.reads, 'other'), false);
  assert.deepEqual(calls.slice(1), ['agents.get spiffe://e/agent/b', 'isRevoked other']);
});

test('a malformed or missing assertion or subject starts nothing (the checks refuse it with their codes)', () => {
  const cases: Record<string, string>[] = [
    { subject_token: 's' },
    { client_assertion: assertion },
    { client_assertion: 'not-a-jwt', subject_token: 's' },
    { client_assertion: signCompact({}, { iss: 42 }, key), subject_token: 's' },
  ];
  for (const params of cases) {
    const { ctx, calls } = setup(params);
    startReads(ctx);
    assert.equal(ctx.reads, undefined);
    assert.deepEqual(calls, []);
  }
});

test('a store error reaches whoever asks, as a direct read would; nobody asking is no unhandled rejection', async () => {
  const { ctx, store } = setup({ client_assertion: assertion, subject_token: 's' }, true);
  startReads(ctx);
  await assert.rejects(agentsWithReads(store.agents, ctx.reads).get(A), { message: 'store down' });
  await assert.rejects(isRevokedWithReads(store.tokens, ctx.reads, tokenHash('s')), {
    message: 'store down',
  });
  const quiet = setup({ client_assertion: assertion, subject_token: 's' }, true);
  startReads(quiet.ctx);
  await new Promise((resolve) => setImmediate(resolve));
});

test('a store without exchangeReads starts nothing', () => {
  const { ctx, store } = setup({ client_assertion: assertion, subject_token: 's' });
  delete (store as { exchangeReads?: unknown }).exchangeReads;
  startReads(ctx);
  assert.equal(ctx.reads, undefined);
});
