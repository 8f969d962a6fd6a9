/**
 * What the gateway keeps for a compensation (compensation-copy.ts): only the named values, from the JSON
 * request body and a bounded copy (64 KiB) of a 2xx JSON answer; nothing for other answers, other media
 * types, larger answers or calls without a guard store.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ActionCatalog } from '../../guard/catalog.ts';
import { compensationInputsOf } from '../../guard/contain/compensation-inputs.ts';
import { type GuardStore, openGuardStore } from '../../guard/store/open-guard-store.ts';
import type { GatewayCall } from '../context.ts';
import { compensationCopy, MAX_RESPONSE_COPY } from './compensation-copy.ts';

const action = new ActionCatalog([
  {
    name: 'payments:create',
    match: { protocol: 'http', method: 'POST', path: '/payments' },
    impact: 'low',
    dataClass: 'internal',
    reversibility: 'reversible',
    blastRadius: 1,
    compensation: {
      method: 'POST',
      path: '/payments/{payment_id}/refund',
      body: { amount: '{amount}' },
      values: {
        payment_id: { from: 'response', pointer: '/id' },
        amount: { from: 'request', pointer: '/amount' },
      },
    },
  },
]).actions[0]!;

let store: GuardStore;
before(async () => {
  store = await openGuardStore({ store: { kind: 'sqlite' }, dataDir: '/nonexistent' }, { path: ':memory:' });
});
after(() => store.close());

let n = 0;
function callFor(body: unknown, guarded = true): GatewayCall {
  n += 1;
  return {
    decisionId: `d-${n}`,
    verdict: { decision: {}, action, grants: [] },
    body: Buffer.from(JSON.stringify(body)),
    route: { audience: 'https://tools/pay' },
    presented: { leaf: { claims: { txn: 't1', sub: 'alice', act: { sub: 'spiffe://x/agent/a' } } } },
    gw: { now: () => 100, guard: guarded ? { store } : undefined },
  } as unknown as GatewayCall;
}

async function kept(call: GatewayCall) {
  return (await compensationInputsOf(store.sql, [call.decisionId!])).get(call.decisionId!);
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

test('keeps only the named values, from the request body and the JSON answer', async () => {
  const call = callFor({ amount: 12, card: '4111 1111 1111 1111' });
  const copy = compensationCopy(call, 201, JSON_TYPE)!;
  const answer = Buffer.from(JSON.stringify({ id: 'pay-1', secret: 'x', nested: { a: 1 } }));
  copy.push(answer.subarray(0, 5));
  copy.push(answer.subarray(5));
  await copy.save();
  const row = await kept(call);
  assert.deepEqual(row?.values, { payment_id: 'pay-1', amount: 12 });
  assert.deepEqual(
    [row?.txn, row?.person, row?.caller, row?.route, row?.status],
    ['t1', 'alice', 'spiffe://x/agent/a', 'https://tools/pay', 201],
  );
  const text = (await store.sql.all('SELECT * FROM compensation_inputs'))
    .map((r) => JSON.stringify(r))
    .join();
  assert.ok(!text.includes('4111') && !text.includes('secret'), 'nothing else of the call is kept');
});

test('an answer above 64 KiB, or not JSON, gives no response values (the request value is still kept)', async () => {
  const big = callFor({ amount: 1 });
  const copy = compensationCopy(big, 200, JSON_TYPE)!;
  copy.push(Buffer.from('{"id":"pay-2","pad":"'));
  copy.push(Buffer.alloc(MAX_RESPONSE_COPY, 'a'));
  copy.push(Buffer.from('"}'));
  await copy.save();
  assert.deepEqual((await kept(big))?.values, { amount: 1 });

  const text = callFor({ amount: 2 });
  const textCopy = compensationCopy(text, 200, { 'content-type': 'text/plain' })!;
  textCopy.push(Buffer.from('{"id":"pay-3"}'));
  await textCopy.save();
  assert.deepEqual((await kept(text))?.values, { amount: 2 });
});

test('a value larger than 4 KiB of JSON is not kept', async () => {
  const call = callFor({ amount: 'x'.repeat(5000) });
  const copy = compensationCopy(call, 200, JSON_TYPE)!;
  copy.push(Buffer.from('{"id":"pay-4"}'));
  await copy.save();
  assert.deepEqual((await kept(call))?.values, { payment_id: 'pay-4' });
});

test('nothing for a non-2xx answer, without a guard store, or for an action without a compensation', async () => {
  assert.equal(compensationCopy(callFor({ amount: 1 }), 500, JSON_TYPE), undefined);
  assert.equal(compensationCopy(callFor({ amount: 1 }), 302, JSON_TYPE), undefined);
  assert.equal(compensationCopy(callFor({ amount: 1 }, false), 200, JSON_TYPE), undefined);
  const plain = callFor({ amount: 1 });
  (plain as { verdict: unknown }).verdict = {
    decision: {},
    action: { ...action, compensation: undefined },
    grants: [],
  };
  assert.equal(compensationCopy(plain, 200, JSON_TYPE), undefined);
});
