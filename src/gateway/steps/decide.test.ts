import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakePolicy, fixture } from '../../../test/support/gateway-call.ts';
import type { Grant } from '../../core/grants/index.ts';
import { ActionCatalog, type CallDescriptor } from '../../guard/catalog.ts';
import { checkCall } from '../../guard/check-call.ts';
import type { PolicySet } from '../../policy/index.ts';
import { RequestParameters } from '../read-parameters.ts';
import { decide } from './decide.ts';

const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const catalog = new ActionCatalog([
  { name: 'crm:read', match: { protocol: 'mcp', tool: 'read' }, resource: 'crm/{tool}', ...low },
  { name: 'payments:refund', match: { protocol: 'mcp', tool: 'refund' }, resource: 'payments/1', ...low },
]);
const tool = (name: string): CallDescriptor => ({
  protocol: 'mcp',
  rpcMethod: 'tools/call',
  tool: name,
  arguments: { value: {} },
});

/** A call presenting the fixture's leaf with `grants`, up to the guard. */
const GRANTS: Grant[] = [
  { action: 'crm:read', resource: 'crm/*' },
  { action: 'payments:refund', resource: 'payments/*' },
];

function decided(calls: CallDescriptor[], policy: PolicySet = fakePolicy(), grants: Grant[] = GRANTS) {
  const { call } = fakeCall({ catalog, policy });
  const leaf = { ...fixture.claims[2]!, grants };
  call.presented = { leaf: { claims: leaf } } as never;
  call.calls = calls;
  call.parameters = new RequestParameters(new URL('http://gateway.invalid/mcp'), call.req, undefined);
  call.guard = checkCall({ catalog, calls, audience: 'aud', caller: leaf.act.sub, depth: leaf.depth });
  decide.run(call);
  return call.verdict!;
}

test('every call allowed: the last action decides, and the grants used are listed once each', () => {
  const v = decided([tool('read'), tool('refund'), tool('read')]);
  assert.equal(v.decision.decision, 'allow');
  assert.equal(v.action?.name, 'crm:read');
  assert.equal(v.resource, 'crm/read');
  assert.deepEqual(
    v.grants.map((g) => g.action),
    ['crm:read', 'payments:refund'],
  );
});

test('a guard refusal denies with its code and reason', () => {
  const v = decided([tool('read'), tool('delete')]);
  assert.equal(v.decision.decision, 'deny');
  assert.equal(v.decision.code, 'WARRANT_ACTION_UNKNOWN');
  assert.deepEqual(v.decision.reasons, ['MCP tool delete is not in the action catalog']);
});

test('calls are decided in order: a policy denial before an unknown action is the decision', () => {
  const v = decided([tool('read'), tool('delete')], fakePolicy('deny'));
  assert.equal(v.decision.code, 'WARRANT_CALL_DENIED');
  assert.equal(v.action?.name, 'crm:read');
});

test('no grant covers the action: WARRANT_GRANT_NOT_HELD', () => {
  const v = decided([tool('refund')], fakePolicy(), [{ action: 'crm:read', resource: 'crm/*' }]);
  assert.equal(v.decision.code, 'WARRANT_GRANT_NOT_HELD');
});

test('session calls only: allowed as a protocol session call, no policy asked', () => {
  const policy = fakePolicy();
  const v = decided([{ protocol: 'mcp', rpcMethod: 'initialize' }], policy);
  assert.deepEqual([v.decision.decision, v.decision.reasons], ['allow', ['protocol session call']]);
  assert.equal(policy.asked, 0);
});
