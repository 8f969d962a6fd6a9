/**
 * Faults on a real 2 + 2 cluster under steady load (issue 14): 2 control planes and 2 gateways as processes
 * (the cluster launcher), their own PostgreSQL (initdb + pg_ctl, own port) and their own Redis (own port) —
 * the shared services are never touched. While 4 callers keep calling both gateways:
 *
 * 1. `kill -9` of a gateway (the launcher starts it again, as a Deployment would);
 * 2. `kill -9` of the control plane holding the ledger integrator's lease (the other takes it over);
 * 3. Redis killed and started again empty after REDIS_DOWN_MS (5 s by default, not the 20 s, to keep
 *    the file under 90 s; `WARRANT_FAULT_REDIS_DOWN_MS=20000` runs the 20 s case), with a warrant revoked at a control
 *    plane while Redis is down (the bus message is lost: gateways must learn it from the status lists).
 *
 * Afterwards, with no manual step: every acknowledged call (200, its decision id echoed by the upstream) has
 * exactly one decision record in the ledger; the log verifies and is consistent with a checkpoint saved
 * before the faults (no fork); the lease moved to the surviving control plane; both gateways answer again;
 * the warrant revoked during the outage and one revoked after it are refused at both gateways within the
 * staleness bound.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { noteVerifierKey, parseCheckpoint, verifyCheckpoint } from '../../src/ledger/checkpoint.ts';
import { verifyConsistency } from '../../src/ledger/merkle.ts';
import { loadOrCreateLedgerKey } from '../../src/ledger/open-ledger.ts';
import { openVerified } from '../../src/ledger/open-verify.ts';
import { openPostgresLedgerStore } from '../../src/ledger/store/postgres/postgres-ledger-store.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type ClusterWorld, startClusterWorld, TRUST_DOMAIN } from '../support/cluster-world.ts';

const BOUND_S = 3;
/** How long Redis stays down: 5 s by default (the file's time budget); `WARRANT_FAULT_REDIS_DOWN_MS=20000` for the 20 s. */
const REDIS_DOWN_MS = Number(process.env['WARRANT_FAULT_REDIS_DOWN_MS'] ?? 5000);
const WORKERS = 4;
const ORIGIN = `${TRUST_DOMAIN}/ledger`;
let world: ClusterWorld;
let db: pg.Client;

before(async () => {
  world = await startClusterWorld({
    config: { gateway: { statusStalenessSeconds: BOUND_S }, ledger: { leaseMs: 2000, integrateMs: 100 } },
  });
  db = new pg.Client({ connectionString: world.pg.url });
  await db.connect();
});
after(async () => {
  await db?.end().catch(() => {});
  await world?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (message: string) =>
  process.stderr.write(`# ${new Date().toISOString().slice(11, 23)} ${message}\n`);

async function leaseHolderPid(): Promise<number | undefined> {
  const { rows } = await db.query<{ holder: string; expires: string }>(
    'SELECT holder, expires FROM warrant_ledger.ledger_lease WHERE id = 1',
  );
  return rows[0] ? Number(rows[0].holder.split(':')[1]) : undefined;
}

async function answer(base: string, agent: AgentClient, warrant: string) {
  try {
    const r = await world.call(base, agent, warrant);
    const body = (await r.json().catch(() => ({}))) as { code?: string; decision?: string };
    return { status: r.status, code: body.code, decision: body.decision };
  } catch {
    return { status: 0, code: 'connection failed', decision: undefined };
  }
}

async function until(what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

test('kill -9 a gateway, the integrator’s control plane, and Redis under load: every acknowledged call recorded once, no fork, recovered', async () => {
  const gateways = [world.member('gw-1'), world.member('gw-2')];
  const agent = await world.agent('load');
  const warrant = await world.warrant(agent);
  const victim = await world.agent('victim');
  const revokedInOutage = await world.warrant(victim);
  const acked: string[] = [];
  let saved: { size: number; root: Uint8Array; note: string } | undefined;
  const refused = new Map<string, number>();
  let running = true;
  const workers = Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = 0; running; i++) {
      const r = await answer(gateways[(w + i) % 2]!.url, agent, warrant);
      if (r.status === 200 && r.decision) acked.push(r.decision);
      else refused.set(`${r.status} ${r.code}`, (refused.get(`${r.status} ${r.code}`) ?? 0) + 1);
      await sleep(10);
    }
  });
  try {
    // A checkpoint saved before the faults.
    await until(
      'a first checkpoint',
      async () => {
        const r = await fetch(`${world.cluster.stsUrl}/ledger/checkpoint`);
        const note = await r.text();
        if (r.status === 200 && parseCheckpoint(note).size >= 20) saved = { ...parseCheckpoint(note), note };
        return saved !== undefined;
      },
      20_000,
    );
    log(`saved checkpoint at size ${saved!.size}; ${acked.length} acknowledged so far`);

    // 1. kill -9 a gateway; the launcher starts it again on the same address.
    gateways[0]!.kill('SIGKILL');
    await until('gw-1 restarted', async () => gateways[0]!.restarts === 1 && gateways[0]!.running, 20_000);
    await gateways[0]!.listening();
    log(`gw-1 back (pid ${gateways[0]!.pid}); ${acked.length} acknowledged`);

    // 2. kill -9 the control plane holding the integrator lease; the other takes it over.
    const holderPid = await leaseHolderPid();
    const holder = [world.member('cp-1'), world.member('cp-2')].find((m) => m.pid === holderPid);
    assert.ok(holder, `the lease holder (pid ${holderPid}) is one of the control planes`);
    const survivor = holder.name === 'cp-1' ? world.member('cp-2') : world.member('cp-1');
    const survivorPid = survivor.pid;
    holder.kill('SIGKILL');
    await until('the lease moved', async () => (await leaseHolderPid()) !== holderPid, 15_000);
    log(
      `${holder.name} killed; lease now held by pid ${await leaseHolderPid()} (survivor ${survivor.name} pid ${survivorPid})`,
    );

    // 3. Redis down (killed), a revocation meanwhile, Redis back empty.
    await world.redis.kill();
    log('redis killed');
    const revoked = await world.admin('POST', '/revoke', {
      hash: tokenHash(revokedInOutage),
      reason: 'outage',
    });
    assert.equal(revoked.status, 200, 'the STS revokes without Redis (the store is the truth)');
    await sleep(REDIS_DOWN_MS);
    await world.redis.restart();
    log(`redis back; ${acked.length} acknowledged`);

    // Recovery without manual steps: both gateways ready and answering.
    for (const gw of gateways)
      await until(
        `${gw.name} ready`,
        async () => (await fetch(`${gw.url}/readyz`).catch(() => undefined))?.status === 200,
        30_000,
      );
    for (const gw of gateways)
      await until(
        `${gw.name} answers`,
        async () => (await answer(gw.url, agent, warrant)).status === 200,
        20_000,
      );
    await sleep(1000);
  } finally {
    running = false;
    await Promise.all(workers);
  }
  log(`load stopped: ${acked.length} acknowledged; refused ${JSON.stringify(Object.fromEntries(refused))}`);
  assert.ok(acked.length >= 50, `steady load acknowledged ${acked.length} calls`);

  // Everything pending is integrated by the surviving (or restarted) integrator, and checkpointed. The
  // gateways' last outcome records ride a lazy timer, so the ledger is read once it has stayed settled (no
  // pending entry, the latest checkpoint covering every record) over two polls in a row.
  let settledPolls = 0;
  await until(
    'all pending integrated and checkpointed, twice in a row',
    async () => {
      const { rows } = await db.query<{ pending: string; records: string; checkpoint: string | null }>(
        `SELECT (SELECT count(*) FROM warrant_ledger.ledger_pending) AS pending,
                (SELECT count(*) FROM warrant_ledger.ledger_records) AS records,
                (SELECT max(size) FROM warrant_ledger.ledger_checkpoints) AS checkpoint`,
      );
      const r = rows[0]!;
      const settled = Number(r.pending) === 0 && Number(r.checkpoint) === Number(r.records);
      settledPolls = settled ? settledPolls + 1 : 0;
      return settledPolls >= 2;
    },
    20_000,
  );
  const { rows } = await db.query<{ canonical: string }>(
    'SELECT canonical FROM warrant_ledger.ledger_records ORDER BY idx',
  );
  const records = rows.map((r) => JSON.parse(r.canonical) as { id: string; kind: string });
  const decisions = new Map<string, number>();
  for (const r of records) if (r.kind === 'decision') decisions.set(r.id, (decisions.get(r.id) ?? 0) + 1);
  const missing = acked.filter((id) => !decisions.has(id));
  const twice = [...decisions].filter(([, n]) => n > 1);
  assert.deepEqual(missing, [], 'every acknowledged call has its decision record');
  assert.deepEqual(twice, [], 'no record twice');
  assert.equal(new Set(acked).size, acked.length);

  // The log verifies and extends the checkpoint saved before the faults (consistency proven: no fork).
  const verifier = noteVerifierKey(ORIGIN, loadOrCreateLedgerKey(`${world.dir}/data`));
  assert.equal(
    verifyCheckpoint(saved!.note, [verifier]).size,
    saved!.size,
    'the saved checkpoint is the ledger’s',
  );
  const store = await openPostgresLedgerStore({ url: world.pg.url });
  try {
    const { tree, latest } = await openVerified(store, 'full', ORIGIN, [verifier]);
    assert.equal(latest?.size, records.length, 'the latest checkpoint covers every record');
    assert.ok(
      verifyConsistency(
        saved!.size,
        tree.size,
        saved!.root,
        latest!.root,
        tree.consistencyProof(saved!.size, tree.size),
      ),
      'the log after the faults extends the checkpoint saved before them',
    );
  } finally {
    await store.close();
  }

  // Revocation after the faults: the one made while Redis was down (its bus message lost: the status lists
  // carry it) and a new one at the other control plane are refused at both gateways within the bound.
  const t0 = Date.now();
  const late = await world.agent('late');
  const lateWarrant = await world.warrant(late);
  const revokedNow = await world.admin(
    'POST',
    '/revoke',
    { hash: tokenHash(lateWarrant) },
    world.member('cp-2').url,
  );
  assert.equal(revokedNow.status, 200);
  for (const gw of gateways)
    for (const [who, token] of [
      [victim, revokedInOutage],
      [late, lateWarrant],
    ] as const)
      await until(
        `${gw.name} refuses a revoked warrant`,
        async () => (await answer(gw.url, who, token)).code === 'WARRANT_TOKEN_REVOKED',
        Math.max(500, t0 + BOUND_S * 1000 + 3000 - Date.now()),
      );
});
