/**
 * `warrant contain` end to end (DESIGN §6, "Contain"): a real STS and admin API, two gateway replicas on it
 * (the first the ledger's writer), the guard store and the ledger on files, and a payments upstream that
 * implements refunds and counts them by Idempotency-Key. A cascade person → a1 → a2 → a3 makes payments
 * (reversible, refunded by the catalog's compensation) and sends an e-mail (irreversible); containing its
 * transaction revokes every descendant, blocks further calls at both gateways, refunds newest first, lists
 * the e-mail for a person, and records every step in the ledger. A second run changes nothing twice;
 * `--dry-run` changes nothing; an unknown target says so and changes nothing; a failing refund is
 * recorded and reported while the others go on, and the next run retries it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { pendingLedgerRecords } from '../../src/guard/contain/ledger-inbox.ts';
import type { ContainPlan } from '../../src/guard/contain/types.ts';
import { type DataPlane, startDataPlane } from '../../src/runtime/data-plane.ts';
import { singleWriterOf } from '../../src/runtime/ledger-role.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { warrantAt } from '../support/cli.ts';
import { PAY, PAYMENT_GRANTS, PAYMENTS_CATALOG, PaymentsUpstream } from '../support/contain-fixture.ts';
import { listen } from '../support/gateway-harness.ts';
import { ADMIN_TOKEN, agentIdOf, type Harness, startHarness } from '../support/sts-harness.ts';

// The gateways' access logs would drown the test report.
process.env['LOG_LEVEL'] ||= 'silent';

const WIDE = { allowedAudiences: ['https://tools.warrant.test/*', 'spiffe://warrant.test/*'] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const upstream = new PaymentsUpstream();
let upstreamServer: Server;
let dir: string | undefined;
let h: Harness;
let gw1: DataPlane;
let gw2: DataPlane;
let a1: AgentClient;
let a2: AgentClient;
let a3: AgentClient;

before(async () => {
  const up = await listen(upstream.handler);
  upstreamServer = up.server;
  dir = mkdtempSync(join(tmpdir(), 'warrant-contain-'));
  const catalog = join(dir, 'catalog.json');
  writeFileSync(catalog, JSON.stringify({ actions: PAYMENTS_CATALOG }));
  h = await startHarness({
    overrides: {
      gateway: {
        listen: { host: '127.0.0.1', port: 0 },
        routes: [
          {
            match: { pathPrefix: '/pay' },
            upstream: up.url,
            audience: PAY,
            protocol: 'http',
            signedBodies: false,
          },
        ],
      },
      guard: { catalog, contain: { compensationTimeoutMs: 2000 } },
    },
  });
  const sts = h.plane.sts;
  const keys = () => sts.keys.keySet(sts.clock()).resolve;
  // One guard runtime for the three parts in this one process, as `warrant dev` does.
  gw1 = await startDataPlane(h.config, { issuer: sts.issuer, keys, guard: h.plane.guard });
  // The second replica appends to the same ledger (one writer per SQLite file: the first replica's).
  gw2 = await startDataPlane(h.config, {
    issuer: sts.issuer,
    keys,
    guard: h.plane.guard,
    decisions: gw1.ledger!.sink,
  });
  a1 = await h.agent('a1', WIDE);
  a2 = await h.agent('a2', WIDE);
  a3 = await h.agent('a3', WIDE);
});

after(async () => {
  await gw2?.close();
  await gw1?.close();
  await h?.close();
  upstreamServer?.closeAllConnections();
  await new Promise((r) => upstreamServer?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** person → a1 → a2 → a3: the root (a1 for a2), a2's warrants for a3 and for the tool, a3's for the tool. */
async function cascade(task: string) {
  const exchange = (client: AgentClient, subject: string, type: string, audience: string) =>
    client
      .exchange({
        subjectToken: subject,
        subjectTokenType: type,
        audience,
        ...(type === TOKEN_TYPES.idToken ? { grants: PAYMENT_GRANTS, task } : {}),
      })
      .then((r) => r.access_token);
  const root = await exchange(a1, h.idToken('alice', a1), TOKEN_TYPES.idToken, agentIdOf('a2'));
  const toA3 = await exchange(a2, root, TOKEN_TYPES.warrant, agentIdOf('a3'));
  const a2Tool = await exchange(a2, root, TOKEN_TYPES.warrant, PAY);
  const a3Tool = await exchange(a3, toA3, TOKEN_TYPES.warrant, PAY);
  const txn = JSON.parse(Buffer.from(root.split('.')[1]!, 'base64url').toString('utf8')).txn as string;
  return { txn, root, toA3, a2Tool, a3Tool, a2Chain: [root, a2Tool], a3Chain: [root, toA3, a3Tool] };
}

function call(gw: DataPlane, client: AgentClient, chain: string[], path: string, body: unknown) {
  const warrant = chain.at(-1)!;
  const url = `${gw.url}${path}`;
  return fetch(url, {
    method: 'POST',
    headers: {
      authorization: `DPoP ${warrant}`,
      dpop: client.dpopProof('POST', url, warrant),
      'warrant-chain': chain.join(', '),
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
}

async function pay(gw: DataPlane, client: AgentClient, chain: string[], amount: number): Promise<string> {
  const r = await call(gw, client, chain, '/pay/payments', { amount, currency: 'EUR' });
  assert.equal(r.status, 201, await r.clone().text());
  return ((await r.json()) as { id: string }).id;
}

const cli = (args: string[]) => warrantAt(h.url, args, ADMIN_TOKEN);

/** Everything a containment could change: tokens revoked, guard history, steps, runs, inbox, refunds. */
async function snapshot(txn: string) {
  const sql = h.plane.guard.store.sql;
  const count = async (table: string) => Number((await sql.one(`SELECT COUNT(*) AS n FROM ${table}`))?.['n']);
  return {
    revoked: (await h.plane.store.tokens.listByTxn(txn)).filter((t) => t.revokedAt !== null).length,
    changes: await h.plane.guard.store.changes.latest(),
    steps: await count('containment_steps'),
    runs: await count('containment_runs'),
    inbox: await count('ledger_inbox'),
    refunds: upstream.received.length,
    // Outcome records of earlier calls may still be joining the ledger: count containment records only.
    ledger: (await containmentRecords(txn)).length,
  };
}

/** The containment records of `txn` in the ledger, once the writer drained the inbox. */
async function containmentRecords(txn: string) {
  await gw1.drain!.drain();
  assert.equal(await pendingLedgerRecords(h.plane.guard.store.sql), 0);
  const page = await singleWriterOf(gw1.ledger).ledger.query({ txn, limit: 1000 });
  return page.items.map((i) => i.record).filter((r) => r.kind === 'containment');
}

let main: Awaited<ReturnType<typeof cascade>>;
const paid: string[] = [];

test('the cascade acts: payments at both gateways, one e-mail; the gateway keeps only the refund values', async () => {
  main = await cascade('contain-main');
  paid.push(await pay(gw1, a3, main.a3Chain, 10));
  paid.push(await pay(gw2, a2, main.a2Chain, 20));
  paid.push(await pay(gw1, a3, main.a3Chain, 30));
  const mail = await call(gw1, a3, main.a3Chain, '/pay/emails', { to: 'bob@example.org' });
  assert.equal(mail.status, 200);
  const rows = await h.plane.guard.store.sql.all(
    'SELECT action, vals FROM compensation_inputs WHERE txn = $1',
    [main.txn],
  );
  assert.equal(rows.length, 3, 'one row per payment; none for the e-mail');
  for (const row of rows) {
    assert.equal(row['action'], 'payments:create');
    assert.deepEqual(Object.keys(JSON.parse(String(row['vals']))).sort(), ['amount', 'payment_id']);
  }
});

test('--dry-run prints the plan and changes nothing', async () => {
  const before = await snapshot(main.txn);
  const r = await cli(['contain', '--txn', main.txn, '--dry-run', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { plan } = JSON.parse(r.stdout) as { plan: ContainPlan };
  assert.equal(plan.revoke.live, 4, 'the root and its three descendants');
  assert.deepEqual(plan.breakers, [{ txn: main.txn }]);
  assert.equal(plan.actions.length, 4);
  assert.deepEqual(
    plan.actions.map((a) => [a.action, a.handling, a.reversibility]),
    [
      ['payments:create', 'compensate', 'reversible'],
      ['payments:create', 'compensate', 'reversible'],
      ['payments:create', 'compensate', 'reversible'],
      ['emails:send', 'manual', 'irreversible'],
    ],
  );
  const ids = plan.actions.slice(0, 3).map((a) => a.decisionId);
  assert.deepEqual(plan.compensationOrder, [ids[2], ids[1], ids[0]], 'newest first');
  assert.match(plan.actions[2]!.compensation!.url, new RegExp(`/payments/${paid[2]}/refund$`));
  const human = await cli(['contain', '--txn', main.txn, '--dry-run']);
  assert.match(human.stdout, /dry run: nothing was changed/);
  assert.match(human.stdout, /for a person: irreversible/);
  assert.deepEqual(await snapshot(main.txn), before);
});

test('contain --txn revokes every descendant, blocks calls at both gateways, refunds newest first, records each step', async () => {
  const r = await cli(['contain', '--txn', main.txn]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  // Progress lines, then the summary.
  assert.match(r.stdout, /revoked 4 warrant\(s\)/);
  assert.match(r.stdout, /tripped the breaker of txn /);
  assert.equal(r.stdout.match(/compensated payments:create/g)?.length, 3);
  assert.match(r.stdout, /for a person: emails:send/);
  assert.match(r.stdout, /compensated 3, already compensated 0, failed 0, for a person 1/);

  assert.deepEqual(upstream.refunds, [paid[2], paid[1], paid[0]], 'refunded newest first, each once');
  assert.deepEqual(
    upstream.received.map((x) => x.body),
    [30, 20, 10].map((amount) => ({ amount, reason: 'contained' })),
  );
  const tokens = await h.plane.store.tokens.listByTxn(main.txn);
  assert.equal(tokens.length, 4);
  assert.ok(
    tokens.every((t) => t.revokedAt !== null),
    'every warrant of the cascade is revoked',
  );

  // Both gateways refuse the chain (they learn it from the feed within their staleness bound).
  const hits = upstream.hits.length;
  for (const [gw, client, chain] of [
    [gw1, a3, main.a3Chain],
    [gw2, a2, main.a2Chain],
  ] as const) {
    const leaf = tokenHash(chain.at(-1)!);
    const deadline = Date.now() + 20_000;
    while (gw.replica.revocation.check(leaf, undefined) !== 'revoked') {
      assert.ok(
        Date.now() < deadline,
        'the gateway saw the revocation (its staleness bound is far below 20 s)',
      );
      await sleep(20);
    }
    const refused = await call(gw, client, chain, '/pay/payments', { amount: 1, currency: 'EUR' });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { code: string }).code, 'WARRANT_TOKEN_REVOKED');
  }
  assert.equal(upstream.hits.length, hits, 'nothing more reached the upstream');

  // Every step is in the ledger, with the transaction.
  const records = await containmentRecords(main.txn);
  const steps = records.map((x) => `${x.containment!.step}:${x.containment!.outcome}`);
  assert.deepEqual(steps, [
    'started:done',
    'revoke:done',
    'breaker:done',
    'compensate:done',
    'compensate:done',
    'compensate:done',
    'manual:skipped',
    'finished:done',
  ]);
  const compensated = records.filter((x) => x.containment!.step === 'compensate');
  assert.deepEqual(
    compensated.map((x) => x.containment!.detail['idempotencyKey']),
    upstream.received.map((x) => x.key),
  );
  assert.ok(records.every((x) => x.gateway === (h.config.gateway.id ?? 'gateway')));
});

test('a second run compensates nothing twice and records no step twice', async () => {
  const before = upstream.received.length;
  const r = await cli(['contain', '--txn', main.txn, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { revoked: number; summary: Record<string, number> };
  assert.equal(result.revoked, 0);
  assert.equal(result.summary['compensated'], 0);
  assert.equal(result.summary['alreadyCompensated'], 3);
  assert.equal(upstream.received.length, before, 'no refund was sent again');
  const steps = (await containmentRecords(main.txn)).map((x) => x.containment!.step);
  assert.equal(steps.filter((s) => s === 'compensate').length, 3);
  assert.equal(steps.filter((s) => s === 'manual').length, 1, 'the e-mail is listed in the ledger once');
});

test('an unknown target says so (404 WARRANT_CONTAIN_TARGET_UNKNOWN) and changes nothing', async () => {
  const before = await snapshot(main.txn);
  for (const args of [
    ['--txn', 'no-such-txn'],
    ['--person', 'nobody@example.org'],
    ['--agent', 'ghost'],
    ['--warrant', 'A'.repeat(43)],
  ]) {
    const r = await cli(['contain', ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /WARRANT_CONTAIN_TARGET_UNKNOWN/);
  }
  const api = await h.admin('POST', '/contain', { txn: 'no-such-txn' });
  assert.equal(api.status, 404);
  assert.equal(((await api.json()) as { code: string }).code, 'WARRANT_CONTAIN_TARGET_UNKNOWN');
  assert.deepEqual(await snapshot(main.txn), before);
});

test('the API refuses a caller without the admin credential, and malformed selectors', async () => {
  const anonymous = await fetch(`${h.url}/admin/contain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ txn: main.txn }),
  });
  assert.equal(anonymous.status, 401);
  for (const body of [{}, { txn: 'a', person: 'b' }, { txn: 'a', dryRun: 'yes' }, { warrant: 'short' }]) {
    const r = await h.admin('POST', '/contain', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_REQUEST_MALFORMED');
  }
});

test('a failing compensation is recorded and reported, the others go on, and the next run retries it', async () => {
  const c = await cascade('contain-failing');
  const first = await pay(gw1, a3, c.a3Chain, 5);
  const second = await pay(gw1, a3, c.a3Chain, 6);
  upstream.failing.add(second);
  const r = await cli(['contain', '--txn', c.txn]);
  assert.equal(r.code, 1, 'a failed compensation is a failure of the run');
  assert.match(r.stdout, /FAILED to compensate payments:create .* → 500/);
  assert.match(r.stdout, /compensated 1, already compensated 0, failed 1/);
  assert.match(r.stderr, /run the same command again/);
  assert.ok(upstream.refunds.includes(first) && !upstream.refunds.includes(second));
  const failed = (await containmentRecords(c.txn)).filter((x) => x.containment!.step === 'compensate');
  assert.deepEqual(
    failed.map((x) => [x.containment!.outcome, x.containment!.detail['status']]),
    [
      ['failed', 500],
      ['done', 200],
    ],
  );

  upstream.failing.delete(second);
  const again = await cli(['contain', '--txn', c.txn, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const result = JSON.parse(again.stdout) as { summary: Record<string, number> };
  assert.equal(result.summary['compensated'], 1);
  assert.equal(result.summary['alreadyCompensated'], 1);
  assert.equal(upstream.refunds.filter((id) => id === first).length, 1);
  assert.equal(upstream.refunds.filter((id) => id === second).length, 1);
});

test('the ledger holding the containment records still verifies offline (audit export, key, verify)', async () => {
  await gw1.drain!.drain();
  await singleWriterOf(gw1.ledger).integrator.integrate();
  const data = h.config.dataDir;
  const query = await cli(['audit', 'query', '--data', data, '--txn', main.txn, '--json']);
  assert.equal(query.code, 0, query.stderr);
  const kinds = (JSON.parse(query.stdout) as { records: { kind: string }[] }).records.map((r) => r.kind);
  assert.ok(kinds.includes('containment') && kinds.includes('decision'), kinds.join(','));
  const out = join(data, 'export.jsonl');
  const exported = await cli(['audit', 'export', '--data', data, '--out', out]);
  assert.equal(exported.code, 0, exported.stderr);
  const key = await cli(['audit', 'key', '--data', data]);
  assert.equal(key.code, 0, key.stderr);
  const verified = await cli(['audit', 'verify', out, '--key', key.stdout.trim()]);
  assert.equal(verified.code, 0, verified.stderr + verified.stdout);
});

test('--warrant contains that warrant and its subtree only; --agent and --person reach every chain of theirs', async () => {
  const c = await cascade('contain-subtree');
  const byA2 = await pay(gw1, a2, c.a2Chain, 7);
  const byA3 = await pay(gw1, a3, c.a3Chain, 8);
  // a2's warrant for a3: its subtree is a3's warrants and calls, not a2's own payment.
  const hash = tokenHash(c.toA3);
  const dry = await cli(['contain', '--warrant', c.toA3, '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = (JSON.parse(dry.stdout) as { plan: ContainPlan }).plan;
  assert.deepEqual(plan.selector, { warrant: hash }, 'the token is sent as its hash');
  assert.equal(plan.revoke.live, 2, 'the warrant and its one descendant');
  assert.deepEqual(plan.breakers, [{ txn: c.txn }]);
  assert.deepEqual(
    plan.actions.map((a) => a.caller),
    [agentIdOf('a3')],
  );
  const r = await cli(['contain', '--warrant', hash, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { revoked: number }).revoked, 2);
  assert.ok(upstream.refunds.includes(byA3) && !upstream.refunds.includes(byA2));
  const tokens = await h.plane.store.tokens.listByTxn(c.txn);
  assert.deepEqual(
    tokens
      .filter((t) => t.revokedAt !== null)
      .map((t) => t.hash)
      .sort(),
    [hash, tokenHash(c.a3Tool)].sort(),
  );

  // The agent a2 is in every chain of this transaction: its payment is now reached too.
  const byAgent = await cli(['contain', '--agent', 'a2', '--dry-run', '--json']);
  assert.equal(byAgent.code, 0, byAgent.stderr);
  const agentPlan = (JSON.parse(byAgent.stdout) as { plan: ContainPlan }).plan;
  assert.deepEqual(agentPlan.selector, { agent: agentIdOf('a2') });
  assert.deepEqual(agentPlan.breakers, [{ agent: agentIdOf('a2') }]);
  const here = agentPlan.actions.filter((a) => a.txn === c.txn);
  assert.deepEqual(
    here.map((a) => [a.caller, a.handling]),
    [
      [agentIdOf('a2'), 'compensate'],
      [agentIdOf('a3'), 'compensated'],
    ],
  );
  const byPerson = await cli(['contain', '--person', 'alice', '--dry-run', '--json']);
  assert.equal(byPerson.code, 0, byPerson.stderr);
  const personPlan = (JSON.parse(byPerson.stdout) as { plan: ContainPlan }).plan;
  assert.ok(
    personPlan.breakers.some((b) => b.txn === c.txn) && personPlan.breakers.some((b) => b.txn === main.txn),
  );
  assert.equal(personPlan.actions.length, 8, 'every allowed action of alice in this file: 4 + 2 + 2');
});
