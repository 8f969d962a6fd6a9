import assert from 'node:assert/strict';
import { guardStoreContract } from '../store/contract.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { ApprovalError, ApprovalStore, type NewApproval, personAddress } from './store.ts';

const person = { sub: 'alice', iss: 'https://idp.example' };

function pending(id: string, overrides: Partial<NewApproval> = {}): NewApproval {
  return {
    id,
    person,
    caller: 'spiffe://example.org/agent/executor',
    chain: ['spiffe://example.org/agent/planner', 'spiffe://example.org/agent/executor'],
    txn: 'txn-1',
    warrant: 'w'.repeat(43),
    action: 'payments:pay',
    resource: 'https://tools.example/pay',
    parameters: { parameters: { amount: 80 } },
    digest: 'd'.repeat(43),
    risk: 55,
    bound: 39,
    factors: [{ name: 'impact', input: 'high', weight: 45, points: 45 }],
    addressedTo: personAddress(person),
    created: 1000,
    expires: 1900,
    ...overrides,
  };
}

const approvals = (store: GuardStore) => new ApprovalStore(store.sql, store.changes);

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof ApprovalError, String(error));
    return error.refusal;
  }
  assert.fail('expected a refusal');
}

guardStoreContract('approval store', {
  'stores a pending approval and reads it back whole': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1', { contentDigest: 'sha-256=:x:' }), 'gateway:g1');
    const read = await a.get('a1', 1001);
    assert.equal(read?.status, 'pending');
    assert.deepEqual(read?.person, person);
    assert.deepEqual(read?.chain, pending('a1').chain);
    assert.deepEqual(read?.factors, pending('a1').factors);
    assert.deepEqual(read?.parameters, { parameters: { amount: 80 } });
    assert.equal(read?.contentDigest, 'sha-256=:x:');
    assert.equal(read?.risk, 55);
    assert.equal(read?.expires, 1900);
    assert.equal(await a.get('nope', 1001), undefined);
    const history = await store.changes.of('approval', 'a1');
    assert.equal(history[0]?.detail['status'], 'pending');
    assert.equal(history[0]?.actor, 'gateway:g1');
  },
  'a pending approval reads as expired past its time, and cannot be decided then': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1'), 'gateway:g1');
    assert.equal((await a.get('a1', 1900))?.status, 'expired');
    assert.equal(
      await refusal(a.decide('a1', { status: 'approved', by: 'alice', reason: 'ok' }, 1900)),
      'expired',
    );
    assert.deepEqual(
      (await a.list(1900, { status: 'expired' })).map((x) => x.id),
      ['a1'],
    );
    assert.deepEqual(await a.list(1900, { status: 'pending' }), []);
  },
  'a decision is final and recorded; two deciders get one success': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1'), 'gateway:g1');
    const [first, second] = await Promise.allSettled([
      a.decide('a1', { status: 'approved', by: 'alice', reason: 'ok', useBy: 1200 }, 1100),
      a.decide('a1', { status: 'denied', by: 'alice', reason: 'no' }, 1100),
    ]);
    const outcomes = [first.status, second.status].sort();
    assert.deepEqual(outcomes, ['fulfilled', 'rejected']);
    const read = await a.get('a1', 1100);
    assert.ok(read?.status === 'approved' || read?.status === 'denied');
    assert.equal(read?.decidedBy, 'alice');
    assert.equal(read?.decidedAt, 1100);
    const statuses = (await store.changes.of('approval', 'a1')).map((c) => c.detail['status']);
    assert.equal(statuses.length, 2);
  },
  'an approved approval is used once, for the same call only, within its window': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1'), 'gateway:g1');
    await a.decide('a1', { status: 'approved', by: 'alice', reason: 'ok', useBy: 1200 }, 1100);
    const call = {
      action: 'payments:pay',
      digest: 'd'.repeat(43),
      resource: 'https://tools.example/pay',
      by: 'gw',
    };
    assert.equal(await refusal(a.use('a1', { ...call, digest: 'x'.repeat(43) }, 1150)), 'mismatch');
    assert.equal(await refusal(a.use('a1', { ...call, action: 'payments:refund' }, 1150)), 'mismatch');
    assert.equal(await refusal(a.use('a1', { ...call, resource: 'https://other' }, 1150)), 'mismatch');
    const [one, two] = await Promise.allSettled([a.use('a1', call, 1150), a.use('a1', call, 1150)]);
    assert.deepEqual([one.status, two.status].sort(), ['fulfilled', 'rejected']);
    assert.equal((await a.get('a1', 1150))?.status, 'used');
    assert.equal(await refusal(a.use('a1', call, 1150)), 'used');
    assert.equal(await refusal(a.use('missing', call, 1150)), 'not_found');
  },
  'an approved approval expires at the end of its window': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1'), 'gateway:g1');
    await a.decide('a1', { status: 'approved', by: 'alice', reason: 'ok', useBy: 1200 }, 1100);
    const call = {
      action: 'payments:pay',
      digest: 'd'.repeat(43),
      resource: 'https://tools.example/pay',
      by: 'gw',
    };
    assert.equal(await refusal(a.use('a1', call, 1201)), 'expired');
    assert.equal((await a.get('a1', 1201))?.status, 'expired');
  },
  'denied stays denied; withdrawn cannot be decided or used': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1'), 'gateway:g1');
    await a.create(pending('a2'), 'gateway:g1');
    await a.decide('a1', { status: 'denied', by: 'alice', reason: 'no' }, 1100);
    assert.equal(
      await refusal(a.decide('a1', { status: 'approved', by: 'alice', reason: 'ok' }, 1101)),
      'denied',
    );
    assert.equal(await refusal(a.withdraw('a1', 'admin', 'x', 1101)), 'denied');
    await a.withdraw('a2', 'admin', 'fraud', 1101);
    assert.equal(
      await refusal(a.decide('a2', { status: 'approved', by: 'alice', reason: 'ok' }, 1102)),
      'withdrawn',
    );
    const call = {
      action: 'payments:pay',
      digest: 'd'.repeat(43),
      resource: 'https://tools.example/pay',
      by: 'gw',
    };
    assert.equal(await refusal(a.use('a2', call, 1102)), 'withdrawn');
  },
  'narrowing by constraints binds the approval instead of the exact call': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1'), 'gateway:g1');
    const approved = await a.decide(
      'a1',
      {
        status: 'approved',
        by: 'alice',
        reason: 'less',
        narrow: { constraints: { max_amount: 50 } },
        useBy: 1200,
      },
      1100,
    );
    assert.match(approved.digest, /^narrow:/);
    assert.deepEqual(approved.narrow, { constraints: { max_amount: 50 } });
  },
  'the expiry sweep marks due approvals expired, once, with their history': async (store) => {
    const a = approvals(store);
    await a.create(pending('due', { expires: 1500 }), 'gateway:g1');
    await a.create(pending('later', { expires: 3000 }), 'gateway:g1');
    await a.create(pending('spent', { expires: 3000 }), 'gateway:g1');
    await a.decide('spent', { status: 'approved', by: 'alice', reason: 'ok', useBy: 1400 }, 1100);
    assert.deepEqual((await a.expireDue(1600)).sort(), ['due', 'spent']);
    assert.deepEqual(await a.expireDue(1600), [], 'nothing twice');
    assert.equal((await a.get('later', 1600))?.status, 'pending');
    const history = await store.changes.of('approval', 'due');
    assert.deepEqual([history[0]?.detail['status'], history[0]?.actor], ['expired', 'system']);
    assert.equal(
      await refusal(a.decide('due', { status: 'approved', by: 'alice', reason: 'ok' }, 1000)),
      'expired',
    );
  },
  'lists by status and address, newest first': async (store) => {
    const a = approvals(store);
    await a.create(pending('a1', { created: 1000 }), 'gateway:g1');
    await a.create(pending('a2', { created: 1001, addressedTo: 'group:finance' }), 'gateway:g1');
    await a.create(pending('a3', { created: 1002 }), 'gateway:g1');
    await a.decide('a3', { status: 'approved', by: 'alice', reason: 'ok', useBy: 1500 }, 1003);
    assert.deepEqual(
      (await a.list(1010)).map((x) => x.id),
      ['a3', 'a2', 'a1'],
    );
    assert.deepEqual(
      (await a.list(1010, { status: 'pending' })).map((x) => x.id),
      ['a2', 'a1'],
    );
    assert.deepEqual(
      (await a.list(1010, { status: 'approved' })).map((x) => x.id),
      ['a3'],
    );
    assert.deepEqual(
      (await a.list(1010, { addressedTo: 'group:finance' })).map((x) => x.id),
      ['a2'],
    );
    assert.deepEqual(
      (await a.list(1010, { limit: 1 })).map((x) => x.id),
      ['a3'],
    );
  },
});
