import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall } from '../../../test/support/gateway-call.ts';
import type { CallDescriptor } from '../../guard/catalog.ts';
import { ActionCatalog } from '../../guard/catalog.ts';
import type { GuardView } from '../../guard/check-call.ts';
import type { CallDecision } from '../authorize-call.ts';
import type { GatewayCall } from '../context.ts';
import { sandbox } from './sandbox.ts';

const catalog = new ActionCatalog([
  {
    name: 'crm:write',
    match: { protocol: 'http', method: 'POST', path: '/crm/*' },
    impact: 'medium',
    dataClass: 'internal',
    reversibility: 'compensable',
    blastRadius: 1,
    sandbox: { upstream: 'http://sandbox-a.test:8080/api', belowTrustLevel: 2 },
  },
  {
    name: 'crm:delete',
    match: { protocol: 'http', method: 'DELETE', path: '/crm/*' },
    impact: 'medium',
    dataClass: 'internal',
    reversibility: 'compensable',
    blastRadius: 1,
    sandbox: { upstream: 'http://sandbox-b.test', belowTrustLevel: 1 },
  },
]);
const [write, remove] = catalog.actions as [(typeof catalog.actions)[0], (typeof catalog.actions)[0]];
const ALLOW: CallDecision = {
  decision: 'allow',
  reasons: ['ok'],
  policyVersion: 'p',
  risk: { score: 0, factors: [] },
};

function decided(level: number, actions: readonly (typeof write)[], decision = ALLOW): GatewayCall {
  const { call } = fakeCall();
  const calls = actions.map((action) => ({
    kind: 'action' as const,
    call: { protocol: 'http', method: 'POST', path: '/crm/x' } as CallDescriptor,
    action,
    resource: 'r',
  }));
  const view: GuardView = {
    verdict: 'pass',
    reasons: [],
    calls,
    trustLevel: level,
    risk: { depth: 0, trustLevel: level },
  };
  call.guard = view;
  call.verdict = { decision, action: actions.at(-1)!, grants: [] };
  return call;
}

test('below the level: the sandbox upstream and its origin for the record; at the level: production', () => {
  const low = decided(1, [write]);
  sandbox.run(low);
  assert.equal(low.upstream, 'http://sandbox-a.test:8080/api');
  assert.equal(low.sandboxed, 'http://sandbox-a.test:8080');
  const high = decided(2, [write]);
  sandbox.run(high);
  assert.equal(high.upstream, undefined);
  assert.equal(high.sandboxed, undefined);
});

test('a denied call is not routed anywhere', () => {
  const denied = decided(0, [write], { ...ALLOW, decision: 'deny', code: 'WARRANT_CALL_DENIED' });
  sandbox.run(denied);
  assert.equal(denied.upstream, undefined);
});

test('a batch goes to the sandbox when one of its actions sends the caller there', () => {
  const batch = decided(1, [remove, write]);
  sandbox.run(batch);
  assert.equal(
    batch.upstream,
    'http://sandbox-a.test:8080/api',
    'delete is not sandboxed at level 1; write is',
  );
});

test('two different sandboxes for one request: a recorded denial WARRANT_SANDBOX_CONFLICT, nothing routed', () => {
  const batch = decided(0, [write, remove]);
  sandbox.run(batch);
  assert.equal(batch.verdict?.decision.decision, 'deny');
  assert.equal(batch.verdict?.decision.code, 'WARRANT_SANDBOX_CONFLICT');
  assert.match(batch.verdict!.decision.reasons[0]!, /2 different sandboxes at trust level 0/);
  assert.equal(batch.upstream, undefined);
});
