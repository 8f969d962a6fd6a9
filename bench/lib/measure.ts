/** Small, dependency-free micro-benchmark harness: warm up, then run batches until the time budget is spent. */
export interface Measurement {
  readonly name: string;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly microsPerOp: number;
}

export function measure(
  name: string,
  fn: () => unknown,
  budgetMs = Number(process.env['BENCH_MS'] ?? 1000),
): Measurement {
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
