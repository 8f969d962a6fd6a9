/**
 * Runs the benchmarks in bench/*.bench.ts (all, or those named on the command line) one after another in
 * this process. Each prints its figures beside a baseline measured in the same run.
 *   npm run bench                 # everything
 *   npm run bench -- token-core   # one suite
 *   BENCH_MS=3000 npm run bench   # longer measurement windows
 *   npm run bench -- cluster      # scale-out: a real 2 + 2 cluster vs 1 + 1 on its own PostgreSQL and Redis
 *                                 # (needs initdb/pg_ctl and redis-server; not in --check: about a minute)
 *
 * `npm run bench -- --check` runs the DESIGN §9 set (CHECK_SUITES) with shorter windows (BENCH_MS=400
 * unless set) and prints one line per goal — figure, goal, measured, same-run baseline, met/missed — then
 * the scaling rows, writes the same as JSON (`--json <file>`, default bench-check.json), and exits 1 when a
 * goal is missed (2 when a suite failed to run). Options:
 *   --json <file>    where the JSON goes
 *   --full           the offline-verification goal on a real 1,000,000-record export (else 200,000 records,
 *                    the time projected linearly — verification is one pass), ledger scaling at 10⁶ too
 */
import crypto from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** The suites whose goals `--check` reports (each records its goals through lib/measure.ts `goal`). */
const CHECK_SUITES = ['gateway', 'sts', 'revocation', 'ledger-append', 'ledger-verify', 'guard', 'scaling'];

const args = process.argv.slice(2);
const check = args.includes('--check');
const full = args.includes('--full');
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : 'bench-check.json';
if (jsonAt >= 0 && (jsonFile === undefined || jsonFile.startsWith('--'))) {
  console.error('--json needs a file name');
  process.exit(2);
}
const wanted = args.filter((a, i) => !a.startsWith('--') && !(jsonAt >= 0 && i === jsonAt + 1));

if (check) {
  process.env['BENCH_MS'] ??= '400';
  process.env['BENCH_REVOCATION_ROUNDS'] ??= '3';
  if (!full) process.env['BENCH_LEDGER_VERIFY_N'] ??= '200000';
  if (full) process.env['BENCH_SCALING_LEDGER_FULL'] ??= '1';
}

const dir = new URL('./', import.meta.url);
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length));
const suites = (check && wanted.length === 0 ? CHECK_SUITES : available)
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .filter((name) => available.includes(name))
  .sort((a, b) => (check ? CHECK_SUITES.indexOf(a) - CHECK_SUITES.indexOf(b) : a.localeCompare(b)));
if (suites.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(2);
}
const machine = `node ${process.version} on ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}; BENCH_MS=${process.env['BENCH_MS'] ?? 1000}`;
console.log(machine);
/**
 * This machine's speed now: CPU µs per Ed25519 verification, in a tight loop, in this process. The ratio
 * goals carry their own same-run baselines; the absolute ones (ms, records/s, s) do not, and the same VM has
 * been measured 3× slower from one hour to the next. Printed at the start and the end of a check.
 */
function cpuSpeed(): number {
  const { generateKeyPairSync, sign, verify } = crypto;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const message = Buffer.alloc(512, 1);
  const signature = sign(null, message, privateKey);
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < 300; i++) verify(null, message, publicKey, signature);
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / 300);
  }
  return times.sort((a, b) => a - b)[2]!;
}
const speedAtStart = check ? cpuSpeed() : undefined;
if (speedAtStart !== undefined)
  console.log(`CPU speed: ${speedAtStart.toFixed(1)} µs CPU per Ed25519 verification (median of 5 × 300)`);
const started = performance.now();
const failed: { suite: string; error: string }[] = [];
for (const name of suites) {
  const mod = (await import(new URL(`${name}.bench.ts`, dir).href)) as { run: () => unknown };
  try {
    await mod.run();
  } catch (error) {
    if (!check) throw error;
    failed.push({ suite: name, error: (error as Error).message ?? String(error) });
    console.error(`\n!!! ${name} failed: ${(error as Error).stack ?? String(error)}`);
  }
}

if (check) {
  const { results } = await import('./lib/measure.ts');
  const seconds = (performance.now() - started) / 1000;
  const load = os.loadavg().map((l) => l.toFixed(2));
  const speedAtEnd = cpuSpeed();
  const speed = `Ed25519 verify ${speedAtStart!.toFixed(1)} µs CPU at the start, ${speedAtEnd.toFixed(1)} at the end`;
  console.log(`\nDESIGN §9 check (${seconds.toFixed(0)} s; load ${load.join(' ')}; ${speed}; ${machine})`);
  const fw = Math.max(6, ...results.goals.map((g) => g.figure.length));
  const mw = Math.max(8, ...results.goals.map((g) => g.measured.length));
  const gw = Math.max(4, ...results.goals.map((g) => g.goal.length));
  console.log(
    `${'figure'.padEnd(fw)}  ${'goal'.padEnd(gw)}  ${'measured'.padEnd(mw)}  verdict  same-run baseline`,
  );
  for (const g of results.goals)
    console.log(
      `${g.figure.padEnd(fw)}  ${g.goal.padEnd(gw)}  ${g.measured.padEnd(mw)}  ${(g.met ? 'met' : 'missed').padEnd(7)}  ${g.baseline}`,
    );
  if (results.scaling.length > 0) {
    console.log('\nscaling');
    const sw = Math.max(...results.scaling.map((s) => s.figure.length));
    for (const s of results.scaling)
      console.log(`${s.figure.padEnd(sw)}  ${s.size.padEnd(18)}  ${s.measured.padEnd(28)}  ${s.baseline}`);
  }
  const missed = results.goals.filter((g) => !g.met).length;
  for (const f of failed) console.log(`!!! suite ${f.suite} did not run to the end: ${f.error}`);
  console.log(
    `\n${results.goals.length - missed} met, ${missed} missed${failed.length > 0 ? `, ${failed.length} suite(s) failed` : ''}; JSON: ${jsonFile}`,
  );
  writeFileSync(
    jsonFile!,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine,
        loadavg: os.loadavg(),
        ed25519VerifyMicros: { start: speedAtStart, end: speedAtEnd },
        seconds,
        goals: results.goals,
        scaling: results.scaling,
        failed,
      },
      null,
      2,
    )}\n`,
  );
  process.exitCode = failed.length > 0 ? 2 : missed > 0 ? 1 : 0;
}
