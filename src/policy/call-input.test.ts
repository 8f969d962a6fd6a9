import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CallPolicyInput, callPolicyKey, callPolicyRequest } from './call-input.ts';

const input: CallPolicyInput = {
  caller: 'spiffe://t/agent/a',
  person: 'alice',
  depth: 1,
  action: { name: 'crm:read', impact: 'low', dataClass: 'confidential' },
  resource: 'https://tools.test/crm',
  risk: 17,
  trustLevel: 2,
  approved: false,
};

test('the Cedar request of a call: the caller, the call action, the resource, the context', () => {
  const r = callPolicyRequest(input);
  assert.deepEqual(r.principal, { type: 'Warrant::Agent', id: input.caller });
  assert.deepEqual(r.action, { type: 'Warrant::Action', id: 'call' });
  assert.deepEqual(r.resource, { type: 'Warrant::Resource', id: input.resource });
  assert.deepEqual(r.context, {
    action: 'crm:read',
    impact: 'low',
    risk: 17,
    trustLevel: 2,
    depth: 1,
    person: 'alice',
    dataClassRank: 2,
    approved: false,
  });
  assert.deepEqual(
    r.entities.map((e) => e.uid.type),
    ['Warrant::Agent', 'Warrant::Resource'],
  );
});

test('an agent recipient is an agent entity', () => {
  const r = callPolicyRequest({ ...input, resource: 'spiffe://t/agent/b' });
  assert.deepEqual(r.resource, { type: 'Warrant::Agent', id: 'spiffe://t/agent/b' });
  assert.equal(r.entities[1]!.attrs['trustLevel'], 0);
});

test('the cache key changes with every input the request reads, and with the policy version', () => {
  const base = callPolicyKey('v1', input);
  const variants: CallPolicyInput[] = [
    { ...input, caller: 'x' },
    { ...input, person: 'bob' },
    { ...input, depth: 2 },
    { ...input, action: { ...input.action, name: 'crm:write' } },
    { ...input, action: { ...input.action, impact: 'high' } },
    { ...input, action: { ...input.action, dataClass: 'public' } },
    { ...input, resource: 'y' },
    { ...input, risk: 18 },
    { ...input, trustLevel: 3 },
    { ...input, approved: true },
  ];
  const keys = new Set([base, callPolicyKey('v2', input), ...variants.map((v) => callPolicyKey('v1', v))]);
  assert.equal(keys.size, variants.length + 2);
});
