import assert from 'node:assert/strict';
import { guardStoreContract } from '../store/contract.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { BudgetStore, type Charge } from './budget-store.ts';

const budgetsOf = (store: GuardStore) => new BudgetStore(store.sql, store.changes);
const charge = (quantity: number, over: Partial<Charge> = {}): Charge => ({
  budget: 'pay',
  key: 'agent:a',
  quantity,
  limit: 500,
  mode: 'reserve',
  ...over,
});

guardStoreContract('budget store', {
  'reserves up to the limit and refuses the charge that would cross it, naming spent and limit': async (
    store,
  ) => {
    const budgets = budgetsOf(store);
    for (let i = 1; i <= 5; i++) {
      const r = await budgets.reserve([charge(100)], 10);
      assert.ok(r.ok);
      assert.deepEqual(r.states, [
        { name: 'pay', key: 'agent:a', limit: 500, spent: i * 100, quantity: 100 },
      ]);
    }
    const sixth = await budgets.reserve([charge(100)], 11);
    assert.deepEqual(sixth, {
      ok: false,
      exceeded: { name: 'pay', key: 'agent:a', limit: 500, spent: 500, quantity: 100 },
    });
    // Another key of the same budget has its own amount.
    assert.ok((await budgets.reserve([charge(100, { key: 'agent:b' })], 12)).ok);
    assert.deepEqual(
      (await budgets.spent('pay')).map((s) => [s.key, s.spent, s.updated]),
      [
        ['agent:a', 500, 10],
        ['agent:b', 100, 12],
      ],
    );
  },
  'several charges are reserved all or none': async (store) => {
    const budgets = budgetsOf(store);
    // Rows are taken in name order: `pay` is reserved first, then `zcalls` fails.
    assert.ok((await budgets.reserve([charge(450, { budget: 'zcalls', limit: 450 })], 1)).ok);
    const r = await budgets.reserve([charge(100, { budget: 'zcalls', limit: 450 }), charge(100)], 2);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.exceeded.name, 'zcalls');
    assert.deepEqual(
      (await budgets.spent()).map((s) => [s.budget, s.spent]),
      [['zcalls', 450]],
      'the pay charge was rolled back with the failing one',
    );
  },
  'a release gives the quantity back, never below zero': async (store) => {
    const budgets = budgetsOf(store);
    await budgets.reserve([charge(300)], 1);
    await budgets.release([charge(100)], 2);
    assert.equal((await budgets.spent('pay'))[0]?.spent, 200);
    await budgets.release([charge(1000)], 3);
    assert.equal((await budgets.spent('pay'))[0]?.spent, 0);
  },
  'amounts with cents add exactly (no floating drift past a limit)': async (store) => {
    const budgets = budgetsOf(store);
    for (let i = 0; i < 3; i++) assert.ok((await budgets.reserve([charge(0.1, { limit: 0.3 })], 1)).ok);
    assert.equal((await budgets.reserve([charge(0.01, { limit: 0.3 })], 1)).ok, false);
    assert.equal((await budgets.spent('pay'))[0]?.spent, 0.3);
  },
  'a check charge passes below the limit and refuses once it is reached; usage is added past it': async (
    store,
  ) => {
    const budgets = budgetsOf(store);
    const check = charge(0, { budget: 'tokens', limit: 10, mode: 'check' });
    assert.ok((await budgets.reserve([check], 1)).ok);
    assert.equal(await budgets.add('tokens', 'agent:a', 7, 2), 7);
    assert.ok((await budgets.reserve([check], 3)).ok, '7 < 10: one more call may run');
    assert.equal(await budgets.add('tokens', 'agent:a', 7, 4), 14);
    const r = await budgets.reserve([check], 5);
    assert.deepEqual(r, {
      ok: false,
      exceeded: { name: 'tokens', key: 'agent:a', limit: 10, spent: 14, quantity: 0 },
    });
  },
  "an operator's limit wins over the configured one and is recorded with who and why": async (store) => {
    const budgets = budgetsOf(store);
    await budgets.reserve([charge(500)], 1);
    assert.equal((await budgets.reserve([charge(100)], 2)).ok, false);
    const id = await budgets.setLimit(
      { budget: 'pay', limit: 800, previous: 500, actor: 'admin', reason: 'quarter end' },
      3,
    );
    assert.ok((await budgets.reserve([charge(300)], 4)).ok);
    assert.equal((await budgets.reserve([charge(0.5)], 5)).ok, false);
    const overrides = await budgets.overrides();
    assert.deepEqual(overrides.get('pay'), {
      budget: 'pay',
      limit: 800,
      time: 3,
      actor: 'admin',
      reason: 'quarter end',
    });
    const [change] = await store.changes.of('budget', 'pay');
    assert.equal(change?.id, id);
    assert.deepEqual(change?.detail, { limit: { from: 500, to: 800 } });
    assert.equal(change?.reason, 'quarter end');
  },
  'ten concurrent reservations of 100 against 500: exactly five pass, the spent amount is 500': async (
    store,
  ) => {
    const budgets = budgetsOf(store);
    const results = await Promise.all(Array.from({ length: 10 }, () => budgets.reserve([charge(100)], 1)));
    assert.equal(results.filter((r) => r.ok).length, 5);
    assert.equal((await budgets.spent('pay'))[0]?.spent, 500);
  },
});
