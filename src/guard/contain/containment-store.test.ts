/**
 * The containment tables of the guard store on SQLite and PostgreSQL: a step is claimed by one run only,
 * a finished step is never claimed again, a step a dead run left running is taken over once its claim
 * expired; the ledger inbox hands each record to one writer at a time and again after its claim expired.
 */
import assert from 'node:assert/strict';
import { guardStoreContract } from '../store/contract.ts';
import { compensationInputsOf, saveCompensationInputs } from './compensation-inputs.ts';
import { ContainmentSteps } from './containment-steps.ts';
import {
  claimLedgerRecords,
  enqueueLedgerRecord,
  pendingLedgerRecords,
  removeLedgerRecord,
} from './ledger-inbox.ts';

const record = (id: string) => ({
  id,
  kind: 'containment' as const,
  time: '2026-01-01T00:00:00Z',
  gateway: 'x',
});

guardStoreContract('containment store', {
  'compensation inputs: written once per decision, read back by id': async (store) => {
    const inputs = {
      decisionId: 'd1',
      time: 10,
      txn: 't1',
      person: 'alice',
      caller: 'a3',
      route: 'https://tools/pay',
      action: 'payments:create',
      status: 201,
      values: { payment_id: 'pay-1', amount: 10 },
    };
    await saveCompensationInputs(store.sql, inputs);
    await saveCompensationInputs(store.sql, { ...inputs, values: { payment_id: 'other' } });
    const found = await compensationInputsOf(store.sql, ['d1', 'd2']);
    assert.deepEqual([...found.keys()], ['d1']);
    assert.deepEqual(found.get('d1'), inputs);
  },
  'a step is claimed by one run; done is never claimed again; an expired running claim is taken over': async (
    store,
  ) => {
    const steps = new ContainmentSteps(store.sql);
    await steps.add(
      [
        { decisionId: 'd1', action: 'pay', state: 'pending' },
        { decisionId: 'd2', action: 'mail', state: 'manual' },
      ],
      'txn:t',
      'run-1',
      1000,
    );
    // Adding again keeps the state of known steps.
    await steps.add([{ decisionId: 'd1', action: 'pay', state: 'manual' }], 'txn:t', 'run-2', 1000);
    assert.equal((await steps.of(['d1'])).get('d1')?.state, 'pending');

    const claims = await Promise.all([
      steps.claim('d1', 'run-1', 1000, 500),
      steps.claim('d1', 'run-2', 1000, 500),
    ]);
    assert.deepEqual(claims.filter(Boolean).length, 1, 'exactly one run claims it');
    const owner = claims[0] ? 'run-1' : 'run-2';
    const other = claims[0] ? 'run-2' : 'run-1';
    assert.equal(await steps.claim('d1', other, 1400, 500), false, 'still claimed');
    assert.equal(await steps.finish('d1', other, 'done', { status: 200 }, 1400), false, 'not its claim');
    // The claim expired (the owner died): another run takes it over, with one more attempt.
    assert.equal(await steps.claim('d1', other, 1501, 500), true);
    assert.equal(await steps.finish('d1', owner, 'done', { status: 200 }, 1600), false, 'taken over');
    assert.equal(await steps.finish('d1', other, 'done', { status: 200 }, 1600), true);
    const done = (await steps.of(['d1'])).get('d1')!;
    assert.deepEqual([done.state, done.attempts, done.status, done.runId], ['done', 2, 200, other]);
    assert.equal(await steps.claim('d1', 'run-3', 999_999, 500), false, 'done is final');

    // A failed step is claimed again by the next run.
    await steps.add([{ decisionId: 'd3', action: 'pay', state: 'pending' }], 'txn:t', 'run-1', 1000);
    assert.equal(await steps.claim('d3', 'run-1', 1000, 500), true);
    assert.equal(await steps.finish('d3', 'run-1', 'failed', { error: 'ECONNREFUSED' }, 1001), true);
    assert.equal((await steps.of(['d3'])).get('d3')?.error, 'ECONNREFUSED');
    assert.equal(await steps.claim('d3', 'run-2', 1002, 500), true);
  },
  'the ledger inbox: claimed by one writer, removed by it, claimed again once a claim expired': async (
    store,
  ) => {
    await store.sql.transaction(async (tx) => {
      await enqueueLedgerRecord(tx, record('r1'));
      await enqueueLedgerRecord(tx, record('r2'));
    });
    const first = await claimLedgerRecords(store.sql, 'w1', 1000, 2000, 10);
    assert.deepEqual(
      first.map((r) => r.record.id),
      ['r1', 'r2'],
    );
    assert.deepEqual(await claimLedgerRecords(store.sql, 'w2', 1500, 2500, 10), [], 'held by w1');
    await removeLedgerRecord(store.sql, first[0]!.id, 'w1');
    // w1 died before removing r2: after its claim, w2 gets it.
    const second = await claimLedgerRecords(store.sql, 'w2', 2001, 3000, 10);
    assert.deepEqual(
      second.map((r) => r.record.id),
      ['r2'],
    );
    await removeLedgerRecord(store.sql, second[0]!.id, 'w1');
    assert.equal(await pendingLedgerRecords(store.sql), 1, "only the holder's removal counts");
    await removeLedgerRecord(store.sql, second[0]!.id, 'w2');
    assert.equal(await pendingLedgerRecords(store.sql), 0);
  },
});
