import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakePolicy, fakeServices, LEAF, presenting } from '../../../test/support/gateway-call.ts';
import type { DecisionLog } from '../../ledger/decision-log.ts';
import { GatewayError } from '../gateway-error.ts';
import { authenticate } from './authenticate.ts';
import { checkHead } from './check-head.ts';
import { decide } from './decide.ts';
import { guard } from './guard.ts';
import { limitBody } from './limit-body.ts';
import { readCall } from './read-call.ts';
import { record } from './record.ts';

const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const catalog = [
  { name: 'crm:read', match: { protocol: 'http', method: 'GET', path: '/crm/*' }, ...low } as const,
];

/** A GET /crm/contacts presenting the leaf, decided (the leaf's grants say nothing of the route: `policy`). */
async function decidedCall(services = fakeServices(), policy = fakePolicy()) {
  const made = fakeCall({
    url: '/crm/contacts',
    headers: presenting('GET', '/crm/contacts'),
    services,
    catalog,
    policy,
  });
  for (const step of [checkHead, authenticate, limitBody, readCall, guard, decide]) await step.run(made.call);
  return made;
}

test('the decision is durable before the step ends: recorded, counted, its id kept for the forward', async () => {
  const { call, services } = await decidedCall();
  // The fixture's leaf holds no grant for the route's audience: a recorded denial.
  await assert.rejects(
    async () => record.run(call),
    (e: unknown) => e instanceof GatewayError && e.status === 403 && e.code === 'WARRANT_GRANT_NOT_HELD',
  );
  assert.equal(services.log.records.length, 1);
  const r = services.log.records[0]!;
  assert.equal(r.kind, 'decision');
  assert.equal(r.decision, 'deny');
  assert.equal(r.code, 'WARRANT_GRANT_NOT_HELD');
  assert.equal(r.trustLevel, 2, 'the trust level the guard read');
  assert.equal(r.chain?.length, 1);
  assert.deepEqual(services.counted, ['deny:WARRANT_GRANT_NOT_HELD']);
  assert.deepEqual(services.appends, [true]);
  assert.equal(call.decisionId, r.id);
  assert.ok(!JSON.stringify(r).includes(LEAF), 'no token literal in the record');
});

test('a decision log that fails: 503 WARRANT_DECISION_NOT_RECORDED, no decision id, the ledger not writable', async () => {
  const failing: DecisionLog = {
    append: () => Promise.reject(new Error('disk full')),
    close: async () => {},
  };
  const services = fakeServices({ decisions: failing });
  const { call } = await decidedCall(services);
  await assert.rejects(
    async () => record.run(call),
    (e: unknown) =>
      e instanceof GatewayError && e.status === 503 && e.code === 'WARRANT_DECISION_NOT_RECORDED',
  );
  assert.equal(call.decisionId, undefined);
  assert.deepEqual(services.appends, [false]);
  assert.deepEqual(services.counted, [], 'a decision not recorded is not counted');
});
