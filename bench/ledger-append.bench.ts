/**
 * Ledger appends (DESIGN §9: ≥ 20,000 durable records/s on SQLite WAL group commit; proof generation is
 * ledger-proofs.bench.ts).
 *
 * Durable records/s through `Ledger.append` (canonical JSON, leaf hash, Merkle tree, group commit, signed
 * checkpoints per `checkpointEvery` 1000 records / 1000 ms) on SQLite (`synchronous=FULL`: fsync per
 * batch; and `NORMAL`: no fsync, for reference) and PostgreSQL (`synchronous_commit=on`), at concurrency
 * 1, 64 and 256 (that many appends in flight, each awaiting durability before the next). Baseline, same run:
 * `FileDecisionLog`, JSON Lines appended with one `fdatasync` per group-committed batch — the least a
 * durable log can do with the same bytes and the same batching.
 *
 * The CPU column is process CPU (both threads) per record: what the ledger costs whatever the disk.
 *   BENCH_MS=3000                  longer windows
 *   BENCH_LEDGER_OPEN=1000000      also time `Ledger.open` (rebuild + verify) of a SQLite file of that many records
 *   BENCH_LEDGER_AGAINST=path      rows for the ledger of another checkout of this repository (with its node_modules),
 *                                  e.g. `git worktree add /tmp/before <commit>`: a change against the build before it
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { generateSigningKey } from '../src/core/jose/jwk.ts';
import { requestsInFlight } from '../src/core/load.ts';
import { canonicalRecord, recordLeafHash } from '../src/ledger/canonical-record.ts';
import { type DecisionLog, FileDecisionLog } from '../src/ledger/decision-log.ts';
import { canonicalJson } from '../src/ledger/jcs.ts';
import { Ledger } from '../src/ledger/ledger.ts';
import { leafHash, MerkleTree } from '../src/ledger/merkle.ts';
import { toEntry } from '../src/ledger/records.ts';
import type { LedgerEntry, LedgerStore } from '../src/ledger/store/ports.ts';
import { openPostgresLedgerStore } from '../src/ledger/store/postgres/postgres-ledger-store.ts';
import { openSqliteLedgerStore } from '../src/ledger/store/sqlite/sqlite-ledger-store.ts';
import { postgresSchemas } from '../test/support/postgres-schemas.ts';
import { POSTGRES_URL } from '../test/support/services.ts';
import { benchDecisionRecord } from './lib/decision-record.ts';
import { BENCH_MS, goal as recordGoal } from './lib/measure.ts';

const WINDOW_MS = Math.max(1000, 2 * BENCH_MS);
/** Another checkout of this repository (with its node_modules) whose ledger gets rows of its own, same run. */
const AGAINST = process.env['BENCH_LEDGER_AGAINST'];
interface AgainstBuild {
  readonly requestsInFlight: { count: number };
  readonly Ledger: typeof Ledger;
  readonly openSqliteLedgerStore: typeof openSqliteLedgerStore;
}
const against: AgainstBuild | undefined = AGAINST
  ? {
      ...((await import(pathToFileURL(join(AGAINST, 'src/core/load.ts')).href)) as {
        requestsInFlight: { count: number };
      }),
      ...((await import(pathToFileURL(join(AGAINST, 'src/ledger/ledger.ts')).href)) as {
        Ledger: typeof Ledger;
      }),
      ...((await import(
        pathToFileURL(join(AGAINST, 'src/ledger/store/sqlite/sqlite-ledger-store.ts')).href
      )) as {
        openSqliteLedgerStore: typeof openSqliteLedgerStore;
      }),
    }
  : undefined;
const GOAL = 20_000;
const signer = { name: 'bench.warrant.test/ledger', key: generateSigningKey('EdDSA') };

interface Row {
  readonly name: string;
  readonly concurrency: number;
  readonly perSecond: number;
  readonly batches: number;
  readonly records: number;
  /** Process CPU (all threads) per record, µs: independent of the fsync wait. */
  readonly cpuMicros: number;
}

/** `concurrency` loops, each appending and awaiting durability, for the window; the rate of acknowledged records. */
async function load(
  log: DecisionLog,
  concurrency: number,
  ms: number,
): Promise<{ perSecond: number; n: number; cpuMicros: number }> {
  let n = 0;
  let stop = false;
  // Each append in flight stands for the gateway request it records (src/core/load.ts counts those): at
  // c=64 the process is serving 64 requests, at c=1 one, and the ledger's store chooses its path by that.
  // (Another build's ledger, BENCH_LEDGER_AGAINST, reads its own copy of the counter.)
  const loop = async () => {
    while (!stop) {
      requestsInFlight.count++;
      if (against) against.requestsInFlight.count++;
      try {
        await log.append(benchDecisionRecord(n));
      } finally {
        requestsInFlight.count--;
        if (against) against.requestsInFlight.count--;
      }
      n++;
    }
  };
  // Warm-up, then the timed window.
  const warmup = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, Math.min(300, ms / 4)));
  stop = true;
  await Promise.all(warmup);
  stop = false;
  n = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, ms));
  stop = true;
  await Promise.all(loops);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: n / seconds, n, cpuMicros: (cpu.user + cpu.system) / n };
}

async function measureLog(
  name: string,
  concurrency: number,
  open: () => Promise<{ log: DecisionLog & { batches: number; records: number }; done: () => Promise<void> }>,
): Promise<Row> {
  const { log, done } = await open();
  try {
    const b0 = log.batches;
    const r0 = log.records;
    const { perSecond, cpuMicros } = await load(log, concurrency, WINDOW_MS);
    return { name, concurrency, perSecond, batches: log.batches - b0, records: log.records - r0, cpuMicros };
  } finally {
    await done();
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-ledger-bench-'));
  const schemas = postgresSchemas('warrant_ledger_bench');
  let files = 0;
  const sqlite = (synchronous: 'full' | 'normal') => async () => {
    const store = await openSqliteLedgerStore({ path: join(dir, `l${++files}`, 'ledger.db'), synchronous });
    const log = await Ledger.open(store, signer);
    return { log, done: () => log.close() };
  };
  const postgres = async () => {
    const store = await openPostgresLedgerStore({ url: POSTGRES_URL, schema: schemas.fresh() });
    const log = await Ledger.open(store, signer);
    return { log, done: () => log.close() };
  };
  const file = async () => {
    const log = new FileDecisionLog(join(dir, `f${++files}.jsonl`));
    return { log, done: () => log.close() };
  };

  try {
    const rows: Row[] = [];
    const baselines = new Map<number, Row>();
    for (const c of [1, 64, 256]) {
      const base = await measureLog('baseline: JSON Lines + fdatasync per batch', c, file);
      baselines.set(c, base);
      rows.push(base);
      rows.push(await measureLog('Ledger, SQLite WAL synchronous=FULL', c, sqlite('full')));
      if (against)
        rows.push(
          await measureLog(`Ledger, SQLite FULL, build at ${AGAINST}`, c, async () => {
            const store = await against.openSqliteLedgerStore({
              path: join(dir, `l${++files}`, 'ledger.db'),
              synchronous: 'full',
            });
            const log = await against.Ledger.open(store, signer);
            return { log, done: () => log.close() };
          }),
        );
      rows.push(await measureLog('Ledger, SQLite WAL synchronous=NORMAL (no fsync)', c, sqlite('normal')));
      let pgRow: Row | undefined;
      try {
        pgRow = await measureLog('Ledger, PostgreSQL synchronous_commit=on', c, postgres);
      } catch (error) {
        console.log(`(PostgreSQL skipped: ${(error as Error).message})`);
      }
      if (pgRow) rows.push(pgRow);
    }
    const w = Math.max(...rows.map((r) => r.name.length));
    console.log(
      `\nledger: durable appends/s (window ${WINDOW_MS} ms per row; ratio to the baseline at the same concurrency)`,
    );
    console.log(
      `${'case'.padEnd(w)}  ${'c'.padStart(3)}  ${'records/s'.padStart(10)}  ${'per batch'.padStart(9)}  ${'CPU µs/rec'.padStart(10)}  ${'× baseline'.padStart(10)}`,
    );
    for (const r of rows) {
      const base = baselines.get(r.concurrency)!;
      const ratio = r === base ? 'baseline' : (r.perSecond / base.perSecond).toFixed(2);
      console.log(
        `${r.name.padEnd(w)}  ${String(r.concurrency).padStart(3)}  ${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)}  ${(r.records / Math.max(1, r.batches)).toFixed(1).padStart(9)}  ${r.cpuMicros.toFixed(1).padStart(10)}  ${ratio.padStart(10)}`,
      );
    }
    const goal = rows.find((r) => r.concurrency === 64 && r.name.includes('FULL'))!;
    console.log(
      `goal (DESIGN §9): ≥ ${GOAL.toLocaleString('en-US')} durable records/s on SQLite WAL group commit — ${Math.round(goal.perSecond).toLocaleString('en-US')}/s at c=64 (fsync per batch): ${goal.perSecond >= GOAL ? 'met' : 'NOT met'}`,
    );
    const jsonl = baselines.get(64)!;
    recordGoal({
      figure: 'ledger durable records/s (SQLite WAL, synchronous=FULL, c=64)',
      goal: `≥ ${GOAL.toLocaleString('en-US')}/s`,
      measured: `${Math.round(goal.perSecond).toLocaleString('en-US')}/s`,
      baseline: `${jsonl.name} ${Math.round(jsonl.perSecond).toLocaleString('en-US')}/s`,
      met: goal.perSecond >= GOAL,
    });
    recordGoal({
      figure: "ledger records/s / fdatasync'ed JSON-lines append of the same records (c=64)",
      goal: '≥ 0.8',
      measured: (goal.perSecond / jsonl.perSecond).toFixed(2),
      baseline: `${jsonl.name} ${Math.round(jsonl.perSecond).toLocaleString('en-US')}/s`,
      met: goal.perSecond / jsonl.perSecond >= 0.8,
    });

    await decompose(dir, jsonl, goal);

    const openN = Number(process.env['BENCH_LEDGER_OPEN'] ?? 0);
    if (openN > 0) await timeOpen(join(dir, 'open', 'ledger.db'), openN);
  } finally {
    await schemas.dropAll().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU µs per call of `fn(i)` over `n` calls (after a warm-up of n / 10). */
function cpuPer(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < n / 10; i++) fn(i);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / n;
}

/**
 * Where a ledger record's CPU goes, stage by stage, on the same record shape in the same run, beside what
 * the JSON-lines baseline does per record. The ledger's two stages run on two threads: the main thread's
 * (canonical JSON, leaf hash, Merkle append) and the writer's (the row and its five query indexes, in
 * SQLite, with the COMMIT's fsync shared by the batch). With the stages overlapped perfectly the ledger
 * would run at the slower stage's pace; one after the other (as a closed loop of appenders makes them:
 * every appender of a batch waits for it) at their sum.
 */
async function decompose(dir: string, jsonl: Row, full: Row): Promise<void> {
  const N = 20_000;
  const records = Array.from({ length: 1000 }, (_, i) => benchDecisionRecord(i));
  const line = cpuPer(N, (i) => `${JSON.stringify(records[i % 1000])}\n`);
  const canonical = cpuPer(N, (i) => recordLeafHash(canonicalRecord(records[i % 1000]!, i)));
  const tree = new MerkleTree();
  const hashes = records.map((r, i) => recordLeafHash(canonicalRecord(r, i)));
  const merkle = cpuPer(N, (i) => tree.append(hashes[i % 1000]!));
  // The writer's stage: batches of 64 prepared entries through the store (pack, INSERTs, COMMIT) at
  // synchronous=NORMAL, so no fsync: process CPU per record. Nothing is in flight here, so the store commits
  // on its own connection: the writer thread's hand-off would only add to it.
  const store = await openSqliteLedgerStore({
    path: join(dir, 'decompose', 'ledger.db'),
    synchronous: 'normal',
  });
  let written = 0;
  const entriesFrom = (first: number) =>
    Array.from({ length: 64 }, (_, k) => toEntry(first + k, records[(first + k) % 1000]!, Date.now()));
  const batches = Array.from({ length: Math.ceil(N / 64) + 32 }, (_, b) => entriesFrom(b * 64));
  for (let b = 0; b < 32; b++) await store.appendBatch(batches[written++]!);
  const cpu0 = process.cpuUsage();
  const before = written;
  while ((written - before) * 64 < N) await store.appendBatch(batches[written++]!);
  const cpu = process.cpuUsage(cpu0);
  const insert = (cpu.user + cpu.system) / ((written - before) * 64);
  await store.close();
  // The same rows into the same table without its five query indexes (who, txn, caller, action, time):
  // what the store stage would cost if `warrant audit` could not find a record by them.
  const bare = new DatabaseSync(join(dir, 'decompose', 'bare.db'));
  bare.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
    CREATE TABLE ledger_records (idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL, canonical TEXT NOT NULL,
      time INTEGER NOT NULL, txn TEXT, person TEXT, caller TEXT, action TEXT, decision TEXT) STRICT`);
  const put = bare.prepare('INSERT INTO ledger_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const putBatch = (entries: readonly LedgerEntry[]) => {
    bare.exec('BEGIN IMMEDIATE');
    for (const e of entries)
      put.run(e.index, e.leafHash, e.canonical, e.time, e.txn, e.person, e.caller, e.action, e.decision);
    bare.exec('COMMIT');
  };
  for (let b = 0; b < 32; b++) putBatch(batches[b]!);
  const cpuBare0 = process.cpuUsage();
  for (let b = 32; b < written; b++) putBatch(batches[b]!);
  const cpuBare = process.cpuUsage(cpuBare0);
  const insertBare = (cpuBare.user + cpuBare.system) / ((written - 32) * 64);
  bare.close();
  const main = canonical + merkle;
  const wallJsonl = 1e6 / jsonl.perSecond;
  const wallLedger = 1e6 / full.perSecond;
  console.log('\nledger: CPU per record by stage, same record shape, same run (µs)');
  console.log(
    `  JSON-lines baseline: JSON.stringify + newline ${line.toFixed(1)}; measured ${wallJsonl.toFixed(1)} µs of wall time per record at c=64 (write + fdatasync shared by the batch)`,
  );
  console.log(
    `  ledger main thread: canonical JSON + leaf hash ${canonical.toFixed(1)}, Merkle append ${merkle.toFixed(1)} (= ${main.toFixed(1)})`,
  );
  console.log(
    `  ledger store (pack, INSERT with 5 query indexes, COMMIT without fsync; on the store's own connection): ${insert.toFixed(1)}, of which the query indexes ${(insert - insertBare).toFixed(1)} (the same INSERTs into the table without them: ${insertBare.toFixed(1)})`,
  );
  console.log(
    `  ledger at c=64: ${wallLedger.toFixed(1)} µs of wall time per record; the stages one after the other ${(main + insert).toFixed(1)}, overlapped ${Math.max(main, insert).toFixed(1)} (before the batch's fsync): ratio bound ${(wallJsonl / Math.max(main, insert)).toFixed(2)} × the baseline with perfect overlap, ${(wallJsonl / (main + insert)).toFixed(2)} × without`,
  );
}

/** Writes `n` records straight into a SQLite store, checkpoints them, then times `Ledger.open`. */
async function timeOpen(path: string, n: number): Promise<void> {
  const store: LedgerStore = await openSqliteLedgerStore({ path, synchronous: 'normal' });
  const tree = new MerkleTree();
  const BATCH = 4096;
  const t0 = performance.now();
  for (let from = 0; from < n; from += BATCH) {
    const entries: LedgerEntry[] = [];
    for (let i = from; i < Math.min(n, from + BATCH); i++) {
      const canonical = canonicalJson({ ...benchDecisionRecord(i), index: i });
      const lh = leafHash(new TextEncoder().encode(canonical));
      tree.append(lh);
      entries.push({
        index: i,
        leafHash: lh,
        canonical,
        time: Date.now(),
        txn: `txn-${i % 1000}`,
        person: 'alice@example.com',
        caller: 'agent',
        action: 'crm.read',
        decision: 'allow',
      });
    }
    await store.appendBatch(entries);
  }
  const writeS = (performance.now() - t0) / 1000;
  const seed = await Ledger.open(store, signer); // checkpoints the lot (full verification once)
  await seed.close();
  console.log(`\nledger: open of ${n.toLocaleString('en-US')} records (written in ${writeS.toFixed(1)} s)`);
  for (const verify of ['tree', 'full'] as const) {
    const t = performance.now();
    const ledger = await Ledger.open(await openSqliteLedgerStore({ path }), signer, { verify });
    const s = (performance.now() - t) / 1000;
    console.log(
      `Ledger.open verify=${verify.padEnd(4)}  ${s.toFixed(2)} s  (${Math.round(n / s).toLocaleString('en-US')} records/s)`,
    );
    await ledger.close();
  }
}
