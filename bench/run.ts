/**
 * Runs the benchmarks in bench/*.bench.ts (all, or those named on the command line) one after another in
 * this process. Each prints its figures beside a baseline measured in the same run.
 *   npm run bench                 # everything
 *   npm run bench -- token-core   # one suite
 *   BENCH_MS=3000 npm run bench   # longer measurement windows
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';

const dir = new URL('./', import.meta.url);
const wanted = process.argv.slice(2);
const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
if (suites.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(2);
}
console.log(
  `node ${process.version} on ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}; BENCH_MS=${process.env['BENCH_MS'] ?? 1000}`,
);
for (const name of suites) {
  const mod = (await import(new URL(`${name}.bench.ts`, dir).href)) as { run: () => unknown };
  await mod.run();
}
