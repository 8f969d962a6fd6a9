/**
 * Budgets end to end (DESIGN §6): a real STS, gateways with their guard runtime over the STS's guard store
 * (`<dataDir>/guard.db`, SQLite), a payments upstream. A budget of 500 per agent lets five payments of 100
 * through and refuses the sixth — recorded with the budget, its limit, the spent amount and the call's
 * amount — also after the gateway restarts; a budget with `onExceed: approval` answers `approval_required`;
 * a call the upstream failed (5xx) gives its reservation back; an absent amount is refused; a store that
 * does not answer refuses (fail closed); operators read and raise limits through the admin API (not
 * without the admin credential).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CatalogAction } from '../../src/guard/catalog.ts';
import type { DecisionLog, DecisionRecord } from '../../src/ledger/decision-log.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type BudgetGateway, type BudgetWorld, startBudgetWorld } from '../support/budget-gateways.ts';
import { PAYMENTS_PAY } from '../support/catalog-actions.ts';
import { ADMIN_TOKEN } from '../support/sts-harness.ts';
import { expectRefusal, TOOLS, WIDE } from './rejections-support.ts';

const PAY = `${TOOLS}/pay`;
const REFUND: CatalogAction = {
  ...PAYMENTS_PAY,
  name: 'payments:refund',
  match: { protocol: 'http', method: 'POST', path: '/pay/refunds' },
  parameters: {},
};
const GRANTS = [{ action: 'payments:*', resource: PAY }];

let world: BudgetWorld;
let gateway: BudgetGateway;
/** Payments that reached the upstream. */
const paid: number[] = [];
let agents = 0;

before(async () => {
  world = await startBudgetWorld({
    budgets: [
      {
        name: 'payments-per-agent',
        scope: 'agent',
        quantity: { parameter: 'amount' },
        actions: ['payments:pay'],
        limit: 500,
      },
      {
        name: 'refunds-per-person-day',
        scope: 'person',
        period: 'day',
        quantity: 'calls',
        actions: ['payments:refund'],
        limit: 2,
        onExceed: 'approval',
      },
    ],
    catalog: [PAYMENTS_PAY, REFUND],
    upstream: (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
          amount?: number;
          fail?: boolean;
        };
        if (body.fail) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{}');
        if (req.url === '/payments') paid.push(body.amount ?? 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    },
    routes: (u) => [{ match: { pathPrefix: '/pay' }, upstream: u, audience: PAY, protocol: 'http' }],
  });
  gateway = await world.gateway();
});

after(async () => {
  await world?.close();
});

/** A new paying agent (agent budgets start at 0 for it) and its warrant for the payments tool. */
async function payer(): Promise<{ client: AgentClient; warrant: string }> {
  const client = await world.sts.agent(`payer-${++agents}`, WIDE);
  return { client, warrant: await world.warrant(client, PAY, GRANTS) };
}

const pay = (g: BudgetGateway, p: { client: AgentClient; warrant: string }, body: unknown) =>
  g.post(p.client, p.warrant, '/pay/payments', body);

const lastDecision = (g: BudgetGateway): DecisionRecord =>
  g.decisions.records.filter((r) => r.kind === 'decision').at(-1)!;

/** The spent amount of `budget` under `key`, once it settles to `expected` (observers run after the answer). */
async function spentSettles(budget: string, key: string, expected: number): Promise<void> {
  let spent: number | undefined;
  for (let i = 0; i < 100; i++) {
    spent = (await gateway.guard.budgets.store.spent(budget)).find((s) => s.key === key)?.spent;
    if (spent === expected) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(spent, expected, `${budget} ${key}`);
}

describe('a budget of 500 per agent over payments of 100', () => {
  test('five payments pass, the sixth is refused WARRANT_BUDGET_EXCEEDED, recorded with the budget state', async () => {
    const p = await payer();
    const before = paid.length;
    for (let i = 1; i <= 5; i++) {
      const r = await pay(gateway, p, { amount: 100 });
      assert.equal(r.status, 200, await r.text());
      assert.deepEqual(lastDecision(gateway).budgets, [
        {
          name: 'payments-per-agent',
          key: `agent:${p.client.agentId}`,
          limit: 500,
          spent: i * 100,
          quantity: 100,
        },
      ]);
    }
    const sixth = await pay(gateway, p, { amount: 100 });
    const body = await expectRefusal(sixth, {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_BUDGET_EXCEEDED',
      secrets: [p.warrant],
    });
    assert.match(
      String(body['error_description']),
      /payments-per-agent.*limit 500, spent 500; this call 100/,
    );
    assert.equal(paid.length - before, 5, 'the sixth payment never reached the upstream');
    const record = lastDecision(gateway);
    assert.equal(record.decision, 'deny');
    assert.equal(record.code, 'WARRANT_BUDGET_EXCEEDED');
    assert.equal(record.action, 'payments:pay');
    assert.deepEqual(record.budgets, [
      { name: 'payments-per-agent', key: `agent:${p.client.agentId}`, limit: 500, spent: 500, quantity: 100 },
    ]);
    assert.match(record.reasons?.[0] ?? '', /budget payments-per-agent \(amount per agent\): limit 500/);
    // A smaller amount that still fits passes: the cap is on the sum, not on a count.
    const fits = await pay(gateway, p, { amount: 0 });
    assert.equal(fits.status, 200, await fits.text());
  });

  test('a payment that alone would cross the cap is refused; another agent has its own 500', async () => {
    const p = await payer();
    await expectRefusal(await pay(gateway, p, { amount: 500.01 }), {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_BUDGET_EXCEEDED',
    });
    const r = await pay(gateway, p, { amount: 500 });
    assert.equal(r.status, 200, await r.text());
  });

  test('the spent amounts survive a gateway restart on the same guard.db', async () => {
    const p = await payer();
    for (let i = 0; i < 3; i++) assert.equal((await pay(gateway, p, { amount: 100 })).status, 200);
    await gateway.close();
    gateway = await world.gateway();
    for (let i = 0; i < 2; i++) assert.equal((await pay(gateway, p, { amount: 100 })).status, 200);
    await expectRefusal(await pay(gateway, p, { amount: 100 }), {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_BUDGET_EXCEEDED',
    });
  });

  test('a payment the upstream failed (503) gives its reservation back', async () => {
    const p = await payer();
    assert.equal((await pay(gateway, p, { amount: 100 })).status, 200);
    const failed = await pay(gateway, p, { amount: 300, fail: true });
    assert.equal(failed.status, 503);
    await spentSettles('payments-per-agent', `agent:${p.client.agentId}`, 100);
    const r = await pay(gateway, p, { amount: 400 });
    assert.equal(r.status, 200, await r.text());
  });

  test('a payment without its amount (or with a string amount) is refused and counts nothing', async () => {
    const p = await payer();
    await expectRefusal(await pay(gateway, p, { currency: 'EUR' }), {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_PARAMETER_MISSING',
    });
    assert.match(lastDecision(gateway).reasons?.[0] ?? '', /parameter amount \(budget payments-per-agent\)/);
    await expectRefusal(await pay(gateway, p, { amount: '100' }), {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_PARAMETER_INVALID',
    });
    assert.deepEqual(
      (await gateway.guard.budgets.store.spent('payments-per-agent')).filter(
        (s) => s.key === `agent:${p.client.agentId}`,
      ),
      [],
    );
  });
});

test('onExceed approval: the third refund of a person in a day is approval_required (403 WARRANT_APPROVAL_REQUIRED)', async () => {
  const client = await world.sts.agent(`refunder-${++agents}`, WIDE);
  const warrant = await world.warrant(client, PAY, GRANTS, 'bob');
  for (let i = 0; i < 2; i++) {
    const r = await gateway.post(client, warrant, '/pay/refunds', {});
    assert.equal(r.status, 200, await r.text());
  }
  await expectRefusal(await gateway.post(client, warrant, '/pay/refunds', {}), {
    status: 403,
    error: 'access_denied',
    code: 'WARRANT_APPROVAL_REQUIRED',
  });
  const record = lastDecision(gateway);
  assert.equal(record.decision, 'approval_required');
  const day = new Date().toISOString().slice(0, 10);
  assert.deepEqual(record.budgets, [
    {
      name: 'refunds-per-person-day',
      key: `person:${JSON.stringify([record.person?.iss, 'bob'])}@${day}`,
      limit: 2,
      spent: 2,
      quantity: 1,
    },
  ]);
  assert.match(record.reasons?.[0] ?? '', /calls per person per day \(UTC\).*a person must approve/);
});

describe('operators: GET /admin/budgets, PUT /admin/budgets/{name}', () => {
  const admin = (method: string, path: string, body?: unknown, token = ADMIN_TOKEN) =>
    fetch(`${world.sts.url}/admin${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  test('lists the budgets with what each agent spent; a raised limit holds at once on the gateway', async () => {
    const p = await payer();
    for (let i = 0; i < 5; i++) assert.equal((await pay(gateway, p, { amount: 100 })).status, 200);
    const list = (await (await admin('GET', '/budgets')).json()) as { items: Record<string, unknown>[] };
    const budget = list.items.find((b) => b['name'] === 'payments-per-agent')!;
    assert.equal(budget['limit'], 500);
    assert.deepEqual(budget['quantity'], { parameter: 'amount' });
    assert.ok(
      (budget['spent'] as { key: string; spent: number }[]).some(
        (s) => s.key === `agent:${p.client.agentId}` && s.spent === 500,
      ),
    );
    const put = await admin('PUT', '/budgets/payments-per-agent', { limit: 700, reason: 'month end run' });
    assert.equal(put.status, 200);
    const changed = (await put.json()) as Record<string, unknown>;
    assert.equal(changed['limit'], 700);
    assert.equal(changed['configuredLimit'], 500);
    assert.deepEqual((changed['override'] as Record<string, unknown>)['reason'], 'month end run');
    const [history] = await gateway.guard.store.changes.of('budget', 'payments-per-agent');
    assert.deepEqual(
      [history?.actor, history?.reason, history?.detail],
      ['admin', 'month end run', { limit: { from: 500, to: 700 } }],
    );
    assert.equal((await pay(gateway, p, { amount: 200 })).status, 200);
    await expectRefusal(await pay(gateway, p, { amount: 1 }), {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_BUDGET_EXCEEDED',
    });
    const one = (await (await admin('GET', '/budgets/payments-per-agent')).json()) as Record<string, unknown>;
    assert.equal(one['limit'], 700);
    // Back to the configured limit for the other tests' agents.
    assert.equal(
      (await admin('PUT', '/budgets/payments-per-agent', { limit: 500, reason: 'reset' })).status,
      200,
    );
  });

  test('without the admin credential: 401, nothing changed', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { limit: 1e9, reason: 'steal' }],
    ] as const) {
      const r = await admin(method, '/budgets/payments-per-agent', body, 'not-the-admin-token');
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as Record<string, unknown>)['code'], 'WARRANT_ADMIN_AUTH_FAILED');
    }
    const one = (await (await admin('GET', '/budgets/payments-per-agent')).json()) as Record<string, unknown>;
    assert.equal(one['limit'], 500);
  });

  test('an unknown budget is 404; a bad limit or no reason is 400', async () => {
    assert.equal((await admin('GET', '/budgets/nope')).status, 404);
    assert.equal((await admin('PUT', '/budgets/nope', { limit: 1, reason: 'x' })).status, 404);
    for (const body of [
      { limit: -1, reason: 'x' },
      { limit: '5', reason: 'x' },
      { limit: 1e12, reason: 'x' },
      { limit: 5 },
    ]) {
      const r = await admin('PUT', '/budgets/payments-per-agent', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(((await r.json()) as Record<string, unknown>)['code'], 'WARRANT_REQUEST_MALFORMED');
    }
  });
});

test('a decision that cannot be recorded (503) gives its reservation back: nothing forwarded, nothing spent', async () => {
  const p = await payer();
  const failing: DecisionLog = {
    append: () => Promise.reject(new Error('disk full')),
    close: async () => {},
  };
  const broken = await world.gateway(undefined, failing);
  try {
    const before = paid.length;
    await expectRefusal(await pay(broken, p, { amount: 400 }), {
      status: 503,
      error: 'unavailable',
      code: 'WARRANT_DECISION_NOT_RECORDED',
    });
    assert.equal(paid.length, before);
    await spentSettles('payments-per-agent', `agent:${p.client.agentId}`, 0);
    // The whole budget is still there.
    const r = await pay(gateway, p, { amount: 500 });
    assert.equal(r.status, 200, await r.text());
  } finally {
    await broken.close();
  }
});

test('two gateways on one guard.db: ten concurrent payments of 100 against 500, exactly five pass', async () => {
  const p = await payer();
  const other = await world.gateway();
  try {
    const before = paid.length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => pay(i % 2 === 0 ? gateway : other, p, { amount: 100 })),
    );
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 403, 403, 403, 403, 403]);
    assert.equal(paid.length - before, 5);
    await spentSettles('payments-per-agent', `agent:${p.client.agentId}`, 500);
  } finally {
    await other.close();
  }
});

test('the guard store does not answer: 503 WARRANT_BUDGET_UNAVAILABLE, nothing forwarded, no decision recorded', async () => {
  const p = await payer();
  const down = await world.gateway();
  try {
    await down.guard.store.close();
    const before = paid.length;
    const records = down.decisions.records.length;
    await expectRefusal(await pay(down, p, { amount: 1 }), {
      status: 503,
      error: 'unavailable',
      code: 'WARRANT_BUDGET_UNAVAILABLE',
    });
    assert.equal(paid.length, before, 'not forwarded');
    assert.equal(down.decisions.records.length, records);
  } finally {
    await down.close();
  }
});
