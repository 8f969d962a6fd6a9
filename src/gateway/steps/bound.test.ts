import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakeServices, fixture } from '../../../test/support/gateway-call.ts';
import { defaultConfig } from '../../config/load-config.ts';
import type { Approval } from '../../core/tokens/index.ts';
import { ActionCatalog, type CallDescriptor } from '../../guard/catalog.ts';
import { checkCall } from '../../guard/check-call.ts';
import type { GuardRuntime } from '../../guard/runtime.ts';
import { GatewayError } from '../gateway-error.ts';
import { RequestParameters } from '../read-parameters.ts';
import { bound } from './bound.ts';
import { decide } from './decide.ts';

const catalog = new ActionCatalog([
  // 20 (medium) + 5 (compensable) + 2 (internal) = 27 before chain depth and blast radius.
  {
    name: 'payments:refund',
    match: { protocol: 'mcp', tool: 'refund' },
    resource: 'payments/1',
    impact: 'medium',
    dataClass: 'internal',
    reversibility: 'compensable',
    blastRadius: 1,
  },
  {
    name: 'payments:bulk',
    match: { protocol: 'mcp', tool: 'bulk' },
    resource: 'payments/1',
    impact: 'medium',
    dataClass: 'internal',
    reversibility: 'compensable',
    blastRadius: 64,
  },
]);
const tool = (name: string): CallDescriptor => ({
  protocol: 'mcp',
  rpcMethod: 'tools/call',
  tool: name,
  arguments: { value: { amount: 1 } },
});

/** Decides and bounds `calls` for the fixture's leaf (depth 2) at `trustLevel`, without a guard store. */
async function bounded(
  calls: CallDescriptor[],
  trustLevel = 0,
  runtime?: GuardRuntime,
  apv?: Approval,
  signedBodies = false,
) {
  const guard = defaultConfig().guard;
  const { call } = fakeCall({
    headers: { 'content-digest': 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:' },
    catalog,
    services: fakeServices({ guardConfig: guard, ...(runtime ? { guard: runtime } : {}) }),
  });
  const leaf = {
    ...fixture.claims[2]!,
    grants: [{ action: 'payments:*', resource: 'payments/*' }],
    ...(apv ? { apv } : {}),
  };
  call.presented = { leaf: { claims: leaf, hash: 'h' } } as never;
  call.route = {
    match: { pathPrefix: '/mcp' },
    upstream: 'http://u',
    audience: 'aud',
    protocol: 'mcp',
    signedBodies,
  };
  call.calls = calls;
  call.parameters = new RequestParameters(new URL('http://gateway.invalid/mcp'), call.req, undefined);
  call.guard = checkCall({
    catalog,
    calls,
    audience: 'aud',
    caller: leaf.act.sub,
    depth: leaf.depth,
    trustLevel: () => trustLevel,
  });
  decide.run(call);
  await bound.run(call);
  return call.verdict!;
}

test('within the bound of its trust level, a call stays allowed and records the bound', async () => {
  // 27 + 6 (two hops) - 0 (level 0) = 33 ≤ 39.
  const v = await bounded([tool('refund')]);
  assert.equal(v.decision.decision, 'allow');
  assert.equal(v.decision.risk.score, 33);
  assert.deepEqual(v.decision.autonomy, { bound: 39, effectiveBound: 39 });
});

test('blast radius tightens the bound (and adds risk): above it the call needs approval', async () => {
  // Risk 33 + 15 (log2 64 × 3, capped at 15) = 48; bound 39 - 12 (log2 64 × 2) = 27.
  const v = await bounded([tool('bulk')]);
  assert.equal(v.decision.decision, 'approval_required');
  assert.equal(v.decision.code, 'WARRANT_APPROVAL_REQUIRED');
  assert.equal(v.decision.risk.score, 48);
  assert.deepEqual(v.decision.autonomy, { bound: 39, effectiveBound: 27 });
  // Without a guard store no approval can be stored: a refusal all the same (fail closed), without an id.
  assert.equal(v.decision.autonomy?.approval, undefined);
});

test('a more trusted agent has a higher bound and a lower score', async () => {
  // Level 5: risk 48 - 15 = 33, bound 65 - 12 = 53.
  const v = await bounded([tool('bulk')], 5);
  assert.equal(v.decision.decision, 'allow');
  assert.deepEqual(v.decision.autonomy, { bound: 65, effectiveBound: 53 });
});

test('in a batch, a call above the bound decides the request even when the last is within it', async () => {
  const v = await bounded([tool('bulk'), tool('refund')]);
  assert.equal(v.decision.decision, 'approval_required');
  assert.equal(v.action?.name, 'payments:bulk');
});

/** A guard runtime whose store does not answer. */
const down = {
  now: () => 1000,
  approvals: {
    create: () => Promise.reject(new Error('connection refused')),
    use: () => Promise.reject(new Error('connection refused')),
  },
} as unknown as GuardRuntime;

test('a store that does not answer fails closed: 503 WARRANT_APPROVAL_STORE_UNAVAILABLE, never allowed', async () => {
  await assert.rejects(bounded([tool('bulk')], 0, down), (e: unknown) => {
    assert.ok(e instanceof GatewayError);
    assert.equal(e.code, 'WARRANT_APPROVAL_STORE_UNAVAILABLE');
    assert.equal(e.status, 503);
    return true;
  });
  // Also when the warrant carries an approval that would have to be spent.
  const apv = { id: 'a1', approver: 'alice', at: 1, action: 'payments:bulk', digest: 'narrow:x' };
  await assert.rejects(bounded([tool('bulk')], 0, down, apv), /approval store is unavailable/);
});

test('without a guard store, an approval in the warrant cannot be spent: denied', async () => {
  const apv = { id: 'a1', approver: 'alice', at: 1, action: 'payments:bulk', digest: 'narrow:x' };
  const v = await bounded([tool('bulk')], 0, undefined, apv);
  assert.equal(v.decision.decision, 'deny');
  assert.equal(v.decision.code, 'WARRANT_APPROVAL_INVALID');
});

test('a batch refused for another call above the bound does not spend the approval it carries', async () => {
  let used = 0;
  let created = 0;
  const runtime = {
    now: () => 1000,
    approvals: {
      create: async () => {
        created++;
      },
      use: async () => {
        used++;
      },
    },
  } as unknown as GuardRuntime;
  const apv = { id: 'a1', approver: 'alice', at: 1, action: 'payments:bulk', digest: 'narrow:x' };
  const both = { ...tool('bulk'), arguments: { value: { amount: 2 } } };
  const v = await bounded([tool('bulk'), both], 0, runtime, apv);
  assert.equal(v.decision.decision, 'approval_required');
  assert.equal(created, 1);
  assert.equal(used, 0, 'nothing forwarded, nothing spent');
  const alone = await bounded([tool('bulk')], 0, runtime, apv);
  assert.equal(alone.decision.decision, 'allow');
  assert.deepEqual(alone.decision.autonomy?.approval, { id: 'a1', status: 'used' });
  assert.equal(used, 1);
});

test('the pending approval keeps what it binds, and the RFC 9421 Content-Digest on a signed-body route', async () => {
  const stored: Record<string, unknown>[] = [];
  const runtime = {
    now: () => 1000,
    approvals: {
      create: async (approval: Record<string, unknown>) => {
        stored.push(approval);
      },
    },
  } as unknown as GuardRuntime;
  const v = await bounded([tool('bulk')], 0, runtime, undefined, true);
  assert.equal(v.decision.autonomy?.approval?.id, stored[0]?.['id']);
  const a = stored[0]!;
  assert.equal(a['contentDigest'], 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
  assert.equal(a['action'], 'payments:bulk');
  assert.equal(a['risk'], 48);
  assert.equal(a['bound'], 27);
  assert.equal(a['expires'], 1000 + defaultConfig().guard.approvals.ttlSeconds);
  assert.deepEqual((a['parameters'] as { arguments: unknown }).arguments, { amount: 1 });
  assert.match(String(a['digest']), /^[A-Za-z0-9_-]{43}$/);
  // Without signed bodies the header is not the route's and is not kept.
  stored.length = 0;
  await bounded([tool('bulk')], 0, runtime);
  assert.equal(stored[0]?.['contentDigest'], undefined);
});
