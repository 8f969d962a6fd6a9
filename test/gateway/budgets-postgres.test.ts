/**
 * Budgets shared through PostgreSQL (DESIGN §6): the spent amounts live in the guard schema, so a gateway
 * that restarts keeps them, and two gateways on the same database never overspend — ten payments of 100
 * fired at once, split over two gateways, against a budget of 500: exactly five pass.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type GuardStore, openGuardStore } from '../../src/guard/store/open-guard-store.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type BudgetWorld, startBudgetWorld } from '../support/budget-gateways.ts';
import { PAYMENTS_PAY } from '../support/catalog-actions.ts';
import { type PostgresSchemas, postgresSchemas } from '../support/postgres-schemas.ts';
import { POSTGRES_URL, requirePostgres } from '../support/services.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { expectRefusal, TOOLS, WIDE } from './rejections-support.ts';

const PAY = `${TOOLS}/pay`;
let world: BudgetWorld;
let schemas: PostgresSchemas;
let schema: string;
const stores: GuardStore[] = [];
let paid = 0;
let agents = 0;

before(async () => {
  await requirePostgres();
  schemas = postgresSchemas('guard_budget_test');
  schema = schemas.fresh();
  world = await startBudgetWorld({
    budgets: [
      {
        name: 'payments-per-agent',
        scope: 'agent',
        quantity: { parameter: 'amount' },
        actions: ['payments:*'],
        limit: 500,
      },
    ],
    catalog: [PAYMENTS_PAY],
    upstream: (req, res) => {
      req.resume();
      req.on('end', () => {
        paid++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    },
    routes: (u) => [{ match: { pathPrefix: '/pay' }, upstream: u, audience: PAY, protocol: 'http' }],
  });
});

after(async () => {
  await world?.close();
  for (const s of stores) await s.close().catch(() => {});
  await schemas?.dropAll();
});

/** A guard store on the test's PostgreSQL schema (each gateway its own pool, as separate processes have). */
async function pgStore(url = POSTGRES_URL): Promise<GuardStore> {
  const store = await openGuardStore(
    { store: { kind: 'postgres', url }, dataDir: '/nonexistent' },
    { schema },
  );
  stores.push(store);
  return store;
}

async function payer(): Promise<{ client: AgentClient; warrant: string }> {
  const client = await world.sts.agent(`pg-payer-${++agents}`, WIDE);
  return { client, warrant: await world.warrant(client, PAY, [{ action: 'payments:*', resource: PAY }]) };
}

test('PostgreSQL: the spent amounts survive a gateway restart', async () => {
  const p = await payer();
  let gw = await world.gateway(await pgStore());
  for (let i = 0; i < 3; i++) {
    const r = await gw.post(p.client, p.warrant, '/pay/payments', { amount: 100 });
    assert.equal(r.status, 200, await r.text());
  }
  await gw.close();
  gw = await world.gateway(await pgStore());
  for (let i = 0; i < 2; i++)
    assert.equal((await gw.post(p.client, p.warrant, '/pay/payments', { amount: 100 })).status, 200);
  await expectRefusal(await gw.post(p.client, p.warrant, '/pay/payments', { amount: 100 }), {
    status: 403,
    error: 'access_denied',
    code: 'WARRANT_BUDGET_EXCEEDED',
  });
  await gw.close();
});

test('two gateways on one PostgreSQL: ten concurrent payments of 100 against 500, exactly five pass', async () => {
  const p = await payer();
  const a = await world.gateway(await pgStore());
  const b = await world.gateway(await pgStore());
  const before = paid;
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      (i % 2 === 0 ? a : b).post(p.client, p.warrant, '/pay/payments', { amount: 100 }),
    ),
  );
  const statuses = await Promise.all(answers.map(async (r) => [r.status, await r.text()] as const));
  assert.equal(statuses.filter(([s]) => s === 200).length, 5, JSON.stringify(statuses));
  const refused = statuses.filter(([s]) => s === 403);
  assert.equal(refused.length, 5);
  for (const [, text] of refused) assert.equal(JSON.parse(text).code, 'WARRANT_BUDGET_EXCEEDED');
  assert.equal(paid - before, 5, 'five payments reached the upstream');
  const [row] = (await a.guard.budgets.store.spent('payments-per-agent')).filter(
    (s) => s.key === `agent:${p.client.agentId}`,
  );
  assert.equal(row?.spent, 500);
  // Both gateways recorded their share, and the allowed records never claim more than 500 spent.
  const allowed = [...a.decisions.records, ...b.decisions.records].filter(
    (r) => r.kind === 'decision' && r.decision === 'allow',
  );
  assert.deepEqual(allowed.map((r) => r.budgets?.[0]?.spent).sort(), [100, 200, 300, 400, 500]);
  await a.close();
  await b.close();
});

test('PostgreSQL partitioned away: the call is refused 503 WARRANT_BUDGET_UNAVAILABLE (not held), never forwarded', async () => {
  const target = new URL(POSTGRES_URL);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const via = new URL(POSTGRES_URL);
  via.hostname = '127.0.0.1';
  via.port = String(proxy.port);
  const store = await pgStore(via.toString());
  const gw = await world.gateway(store);
  try {
    const p = await payer();
    assert.equal((await gw.post(p.client, p.warrant, '/pay/payments', { amount: 100 })).status, 200);
    proxy.partition();
    const before = paid;
    await expectRefusal(await gw.post(p.client, p.warrant, '/pay/payments', { amount: 100 }), {
      status: 503,
      error: 'unavailable',
      code: 'WARRANT_BUDGET_UNAVAILABLE',
    });
    assert.equal(paid, before, 'not forwarded');
  } finally {
    proxy.heal();
    await gw.close();
    await store.close();
    await proxy.close();
  }
});
