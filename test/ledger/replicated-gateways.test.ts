/**
 * The replicated ledger end to end (DESIGN §8, issue 14): one STS and two real gateways, each recording
 * into its own `PendingSink` on its own PostgreSQL pool (as two processes would), one integrator under the
 * lease. Concurrent calls on both gateways: none is refused for contention, and afterwards every decision
 * and every outcome is in the log exactly once, the log verifies as the audit commands read it, and the
 * integrator can be replaced without a fork.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { verifyConsistency } from '../../src/ledger/merkle.ts';
import { openVerified } from '../../src/ledger/open-verify.ts';
import { TileIntegrator } from '../../src/ledger/replicated/integrator.ts';
import { openLedgerPool } from '../../src/ledger/replicated/open-replicated.ts';
import { PendingSink } from '../../src/ledger/replicated/pending-sink.ts';
import { openPostgresLedgerStore } from '../../src/ledger/store/postgres/postgres-ledger-store.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { TOOLS, WIDE } from '../gateway/rejections-support.ts';
import { type BudgetWorld, startBudgetWorld } from '../support/budget-gateways.ts';
import { PAYMENTS_PAY } from '../support/catalog-actions.ts';
import { type PostgresSchemas, postgresSchemas } from '../support/postgres-schemas.ts';
import { POSTGRES_URL, requirePostgres } from '../support/services.ts';

const PAY = `${TOOLS}/pay`;
const ORIGIN = 'warrant.test/ledger';
const signer = { name: ORIGIN, key: generateSigningKey('EdDSA') };
let world: BudgetWorld;
let schemas: PostgresSchemas;
const pools: pg.Pool[] = [];

before(async () => {
  await requirePostgres();
  schemas = postgresSchemas('ledger_repl_e2e');
  world = await startBudgetWorld({
    budgets: [],
    catalog: [PAYMENTS_PAY],
    upstream: (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    },
    routes: (u) => [{ match: { pathPrefix: '/pay' }, upstream: u, audience: PAY, protocol: 'http' }],
  });
});

after(async () => {
  await world?.close();
  for (const p of pools) await p.end().catch(() => {});
  await schemas?.dropAll();
});

async function pool(schema: string): Promise<pg.Pool> {
  const p = await openLedgerPool({ url: POSTGRES_URL, schema });
  pools.push(p);
  return p;
}

async function payer(name: string): Promise<{ client: AgentClient; warrant: string }> {
  const client = await world.sts.agent(name, WIDE);
  return { client, warrant: await world.warrant(client, PAY, [{ action: 'payments:*', resource: PAY }]) };
}

test('two gateway replicas on one PostgreSQL ledger: no refusal, every decision and outcome once, no fork', async () => {
  const schema = schemas.fresh();
  const [pa, pb, pi1, pi2] = [await pool(schema), await pool(schema), await pool(schema), await pool(schema)];
  const sinks = [new PendingSink(pa, { replica: 'gw-a' }), new PendingSink(pb, { replica: 'gw-b' })];
  const gateways = [await world.gateway(undefined, sinks[0]), await world.gateway(undefined, sinks[1])];
  const first = new TileIntegrator(pi1, {
    holder: 'cp-1',
    signer,
    origin: ORIGIN,
    integrateMs: 50,
    leaseMs: 500,
  });
  first.start();
  const callers = [await payer('repl-a'), await payer('repl-b')];
  const statuses: number[] = [];
  let saved = null;
  for (let wave = 0; wave < 8; wave++) {
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => {
        const g = i % 2;
        const { client, warrant } = callers[g]!;
        return gateways[g]!.post(client, warrant, '/pay/payments', { amount: 1 });
      }),
    );
    for (const r of answers) {
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    if (wave === 3) {
      saved = await first.integrate();
      await first.abandon(); // the integrator's process dies holding the lease
    }
  }
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'no call refused',
  );
  for (const g of gateways) await g.close();
  for (const s of sinks) await s.close();
  // Another control plane takes the lease once it expired, and integrates the rest.
  const second = new TileIntegrator(pi2, {
    holder: 'cp-2',
    signer,
    origin: ORIGIN,
    integrateMs: 50,
    leaseMs: 500,
  });
  let latest = null;
  for (let round = 0; round < 800; round++) {
    latest = await second.integrate();
    const { rows } = await pi2.query<{ n: number }>('SELECT count(*)::bigint AS n FROM ledger_pending');
    if (latest && Number(rows[0]!.n) === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(saved && latest);
  const { rows } = await pi2.query<{ canonical: string }>(
    'SELECT canonical FROM ledger_records ORDER BY idx',
  );
  const records = rows.map(
    (r) => JSON.parse(r.canonical) as { id: string; kind: string; decisionId?: string },
  );
  const decisions = records.filter((r) => r.kind === 'decision');
  const outcomes = records.filter((r) => r.kind === 'outcome');
  assert.equal(decisions.length, statuses.length, 'one decision record per acknowledged call');
  assert.equal(new Set(decisions.map((r) => r.id)).size, decisions.length, 'no decision twice');
  assert.equal(outcomes.length, statuses.length, 'no outcome lost');
  assert.deepEqual(
    new Set(outcomes.map((r) => r.decisionId)),
    new Set(decisions.map((r) => r.id)),
    'each outcome belongs to one decision',
  );
  // The log verifies (every record re-hashed, tree = latest checkpoint) and extends the saved checkpoint.
  const store = await openPostgresLedgerStore({ url: POSTGRES_URL, schema });
  const { tree } = await openVerified(store, 'full', ORIGIN, [second.verifierKey]);
  assert.equal(tree.size, records.length);
  assert.ok(
    verifyConsistency(
      saved.size,
      latest.size,
      saved.root,
      latest.root,
      tree.consistencyProof(saved.size, latest.size),
    ),
  );
  await store.close();
  await second.stop();
});
