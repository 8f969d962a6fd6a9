/**
 * Small, dependency-free micro-benchmark harness: warm up, then run batches until the time budget is spent;
 * and the settings and baselines every benchmark shares.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';

/** The unit every measurement window scales with, in ms (`BENCH_MS`, default 1000). */
export const BENCH_MS = Number(process.env['BENCH_MS'] ?? 1000);
/** `BENCH_MS` relative to its default: what the server benchmarks scale request counts and windows by. */
export const SCALE = BENCH_MS / 1000;

/** A DESIGN §9 goal's verdict. */
export const verdict = (ok: boolean): string => (ok ? 'pass' : 'MISS');

/**
 * The baseline the CPU figures are divided by: one raw node:crypto Ed25519 verification of `message`
 * (under a fresh key). Returns a function doing one; it throws if the signature does not verify.
 */
export function ed25519Verification(message: Uint8Array): () => void {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const signature = sign(null, message, privateKey);
  return () => {
    if (!verify(null, message, publicKey, signature)) throw new Error('Ed25519 verification failed');
  };
}

export interface Measurement {
  readonly name: string;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly microsPerOp: number;
}

export function measure(name: string, fn: () => unknown, budgetMs = BENCH_MS): Measurement {
  // Warm-up: let the JIT settle and caches fill.
  const warmEnd = performance.now() + Math.min(200, budgetMs / 4);
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  let batch = 16;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(budgetMs * 1e6));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    if (batch < 4096) batch *= 2;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  return { name, ops, seconds, opsPerSecond: ops / seconds, microsPerOp: (seconds * 1e6) / ops };
}

/** Prints a table with each row's cost as a ratio to the baseline row measured in the same run. */
export function report(title: string, baseline: Measurement, rows: readonly Measurement[]): void {
  const w = Math.max(...[baseline, ...rows].map((r) => r.name.length), 10);
  console.log(`\n${title}`);
  console.log(
    `${'case'.padEnd(w)}  ${'ops/s'.padStart(12)}  ${'µs/op'.padStart(9)}  ${'× baseline cost'.padStart(15)}`,
  );
  for (const r of [baseline, ...rows]) {
    const ratio = r.microsPerOp / baseline.microsPerOp;
    console.log(
      `${r.name.padEnd(w)}  ${Math.round(r.opsPerSecond).toLocaleString('en-US').padStart(12)}  ${r.microsPerOp.toFixed(2).padStart(9)}  ${(r === baseline ? 'baseline' : ratio.toFixed(2)).padStart(15)}`,
    );
  }
}

/**
 * One DESIGN §9 goal as measured in this run: what, the goal, the figure, the same-run baseline it is a
 * ratio to (or is measured beside), and whether it is met. `npm run bench -- --check` collects these.
 */
export interface GoalResult {
  readonly figure: string;
  readonly goal: string;
  readonly measured: string;
  readonly baseline: string;
  readonly met: boolean;
}

/** A scaling row: how one figure moves with a size (chain depth, agents, records, policies). */
export interface ScalingResult {
  readonly figure: string;
  readonly size: string;
  readonly measured: string;
  readonly baseline: string;
}

/** Everything the suites of this process reported, in order (read by bench/run.ts --check). */
export const results: { goals: GoalResult[]; scaling: ScalingResult[] } = { goals: [], scaling: [] };

/** Records a §9 goal's result (and prints it, so a suite run alone says met or missed too). */
export function goal(result: GoalResult): void {
  results.goals.push(result);
  console.log(
    `  §9 ${result.figure}: ${result.measured} (goal ${result.goal}; baseline ${result.baseline}) ${result.met ? 'met' : 'MISSED'}`,
  );
}

/** Records a scaling row (and prints it). */
export function scaling(result: ScalingResult): void {
  results.scaling.push(result);
  console.log(
    `  scaling ${result.figure} @ ${result.size}: ${result.measured} (baseline ${result.baseline})`,
  );
}
