import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../config/load-config.ts';
import type { ConfigOverrides } from '../../config/types.ts';
import { ConfigError } from '../../core/errors.ts';
import { startGateway } from '../../gateway/start-gateway.ts';

const PAY = {
  name: 'pay',
  scope: 'agent',
  quantity: { parameter: 'amount' },
  actions: ['payments:*'],
  limit: 500,
};
const load = (budgets: unknown[]) =>
  loadConfig(undefined, { trustDomain: 'example.org', guard: { budgets } } as ConfigOverrides);

test('a budget gets its defaults: period total, onExceed deny; none configured is an empty list', () => {
  assert.deepEqual(load([PAY]).guard.budgets, [{ ...PAY, period: 'total', onExceed: 'deny' }]);
  assert.deepEqual(loadConfig(undefined, { trustDomain: 'example.org' }).guard.budgets, []);
});

test('bad budgets are refused at load, naming the failing path', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ ...PAY, scope: 'team' }, '/guard/budgets/0/scope', /expected one of: agent, person, txn/],
    [{ ...PAY, period: 'week' }, '/guard/budgets/0/period', /expected one of: total, day/],
    [{ ...PAY, quantity: 'money' }, '/guard/budgets/0/quantity', /calls, llm_tokens/],
    [{ ...PAY, quantity: { parameter: '' } }, '/guard/budgets/0/quantity', /./],
    [{ ...PAY, limit: -1 }, '/guard/budgets/0/limit', /from 0 to 9000000000/],
    [{ ...PAY, limit: '500' }, '/guard/budgets/0/limit', /expected a number/],
    [{ ...PAY, actions: [] }, '/guard/budgets/0/actions', /at least 1 item/],
    [{ ...PAY, actions: ['pay*ments'] }, '/guard/budgets/0/actions/0', /./],
    [{ ...PAY, onExceed: 'warn' }, '/guard/budgets/0/onExceed', /deny, approval/],
    [{ ...PAY, name: 'Bad Name' }, '/guard/budgets/0/name', /./],
    [{ ...PAY, extra: 1 }, '/guard/budgets/0/extra', /unknown option/],
    [{ scope: 'agent' }, '/guard/budgets/0/name', /is required/],
  ];
  for (const [budget, path, message] of cases) {
    assert.throws(
      () => load([budget]),
      (e: unknown) => e instanceof ConfigError && e.path.startsWith(path) && message.test(e.message),
      `${JSON.stringify(budget)} → ${path}`,
    );
  }
  assert.throws(
    () => load([PAY, { ...PAY }]),
    (e: unknown) =>
      e instanceof ConfigError && e.path === '/guard/budgets/1/name' && /unique/.test(e.message),
  );
});

test('a gateway with budgets configured but no guard store refuses to start (WARRANT_BUDGET_UNAVAILABLE)', async () => {
  const config = load([PAY]);
  await assert.rejects(startGateway(config, { issuer: 'http://127.0.0.1:9' }), {
    code: 'WARRANT_BUDGET_UNAVAILABLE',
  });
});
