/**
 * The replicated ledger (DESIGN §8, issue 14): durable records/s acknowledged by gateway sinks on one
 * PostgreSQL ledger, against the single writer in the same run.
 *
 *   - baseline: one single-writer `Ledger` on PostgreSQL (`synchronous_commit=on`), the mode of one gateway;
 *   - two single-writer `Ledger`s on the same schema (what two gateway replicas did before the split): they
 *     contend for the next index, retry, and refuse what still conflicts after three retries;
 *   - one and two `PendingSink`s (separate pools, as two replicas), with the integrator running beside them
 *     every 500 ms: what they acknowledge, what they refuse (nothing, unless PostgreSQL fails), and then how
 *     fast the integrator drains the pending entries into the tree (tiles + signed checkpoint per round).
 *
 * This machine has two cores shared by PostgreSQL, the load and the integrator: read the ratios and the
 * refusal counts, not the absolute rates.
 */
import { generateSigningKey } from '../src/core/jose/jwk.ts';
import type { DecisionLog, DecisionRecord } from '../src/ledger/decision-log.ts';
import { Ledger } from '../src/ledger/ledger.ts';
import { TileIntegrator } from '../src/ledger/replicated/integrator.ts';
import { openLedgerPool } from '../src/ledger/replicated/open-replicated.ts';
import { PendingSink } from '../src/ledger/replicated/pending-sink.ts';
import { openPostgresLedgerStore } from '../src/ledger/store/postgres/postgres-ledger-store.ts';
import { postgresSchemas } from '../test/support/postgres-schemas.ts';
import { POSTGRES_URL } from '../test/support/services.ts';
import { BENCH_MS } from './lib/measure.ts';

const WINDOW_MS = Math.max(1000, 2 * BENCH_MS);
const signer = { name: 'bench.warrant.test/ledger', key: generateSigningKey('EdDSA') };

function record(n: number, gateway: string): DecisionRecord {
  return {
    id: `${gateway}-${n}`,
    kind: 'decision',
    time: new Date().toISOString(),
    gateway,
    decision: 'allow',
    reasons: ['policy:allow-crm-read', 'risk:low'],
    person: { sub: 'alice@example.com', iss: 'https://idp.bench.warrant.test' },
    caller: 'spiffe://bench.warrant.test/agent/researcher',
    action: 'crm.read',
    resource: 'https://tools.bench.warrant.test/crm',
    txn: `txn-${n % 1000}`,
    risk: { score: 12, factors: [{ name: 'new-recipient', points: 12 }] },
  };
}

interface Row {
  readonly name: string;
  readonly concurrency: number;
  readonly perSecond: number;
  readonly refused: number;
  readonly acknowledged: number;
}

/** `concurrency` loops per log, each appending and awaiting durability, for the window. */
async function load(logs: readonly DecisionLog[], concurrency: number, ms: number) {
  let acknowledged = 0;
  let refused = 0;
  let stop = false;
  let n = 0;
  const loop = async (log: DecisionLog, g: number) => {
    while (!stop) {
      try {
        await log.append(record(n++, `gw-${g}`));
        acknowledged++;
      } catch {
        refused++;
      }
    }
  };
  const started = performance.now();
  const loops = logs.flatMap((log, g) => Array.from({ length: concurrency }, () => loop(log, g)));
  await new Promise((r) => setTimeout(r, ms));
  stop = true;
  await Promise.all(loops);
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: acknowledged / seconds, acknowledged, refused };
}

export async function run(): Promise<void> {
  const schemas = postgresSchemas('warrant_ledger_repl_bench');
  const rows: Row[] = [];
  const drains: string[] = [];
  try {
    for (const c of [64, 256]) {
      {
        const log = await Ledger.open(
          await openPostgresLedgerStore({ url: POSTGRES_URL, schema: schemas.fresh() }),
          signer,
        );
        rows.push({
          name: 'baseline: one single-writer Ledger',
          concurrency: c,
          ...(await load([log], c, WINDOW_MS)),
        });
        await log.close();
      }
      {
        const schema = schemas.fresh();
        const a = await Ledger.open(await openPostgresLedgerStore({ url: POSTGRES_URL, schema }), signer);
        const b = await Ledger.open(await openPostgresLedgerStore({ url: POSTGRES_URL, schema }), signer);
        rows.push({
          name: 'two single-writer Ledgers, one schema',
          concurrency: c,
          ...(await load([a, b], c, WINDOW_MS)),
        });
        await Promise.allSettled([a.close(), b.close()]);
      }
      for (const replicas of [1, 2]) {
        const schema = schemas.fresh();
        const pools = await Promise.all(
          Array.from({ length: replicas + 1 }, () => openLedgerPool({ url: POSTGRES_URL, schema })),
        );
        const sinks = pools.slice(1).map((p, i) => new PendingSink(p, { replica: `gw-${i}` }));
        const integrator = new TileIntegrator(pools[0]!, {
          holder: 'bench',
          signer,
          origin: signer.name,
          integrateMs: 500,
        }).start();
        const result = await load(sinks, c, WINDOW_MS);
        rows.push({ name: `replicated: ${replicas} PendingSink(s) + integrator`, concurrency: c, ...result });
        for (const s of sinks) await s.close();
        await integrator.stop();
        const pending = Number(
          (await pools[0]!.query<{ n: number }>('SELECT count(*)::bigint AS n FROM ledger_pending')).rows[0]!
            .n,
        );
        const drainer = new TileIntegrator(pools[0]!, { holder: 'bench', signer, origin: signer.name });
        const t = performance.now();
        await drainer.integrate();
        const s = (performance.now() - t) / 1000;
        drains.push(
          `c=${c}, ${replicas} sink(s): ${result.acknowledged.toLocaleString('en-US')} acknowledged, ${integrator.integrated.toLocaleString('en-US')} integrated during the load; the remaining ${pending.toLocaleString('en-US')} in ${s.toFixed(2)} s (${Math.round(pending / Math.max(s, 1e-3)).toLocaleString('en-US')} records/s); tree ${drainer.size.toLocaleString('en-US')}, ${drainer.edge?.heldHashes ?? 0} hashes in memory`,
        );
        await drainer.stop();
        for (const p of pools) await p.end();
      }
    }
    const w = Math.max(...rows.map((r) => r.name.length));
    console.log(
      `\nledger, replicated (PostgreSQL): durable records/s acknowledged (window ${WINDOW_MS} ms per row; c = appends in flight per writer)`,
    );
    console.log(
      `${'case'.padEnd(w)}  ${'c'.padStart(3)}  ${'records/s'.padStart(10)}  ${'refused'.padStart(8)}  ${'× baseline'.padStart(10)}`,
    );
    for (const r of rows) {
      const base = rows.find((b) => b.concurrency === r.concurrency && b.name.startsWith('baseline'))!;
      const ratio = r === base ? 'baseline' : (r.perSecond / base.perSecond).toFixed(2);
      const pct = `${((100 * r.refused) / Math.max(1, r.refused + r.acknowledged)).toFixed(1)}%`;
      console.log(
        `${r.name.padEnd(w)}  ${String(r.concurrency).padStart(3)}  ${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)}  ${pct.padStart(8)}  ${ratio.padStart(10)}`,
      );
    }
    console.log('integration (the integrator after the load):');
    for (const d of drains) console.log(`  ${d}`);
  } finally {
    await schemas.dropAll().catch(() => {});
  }
}
