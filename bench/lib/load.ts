/**
 * The load-generator loops every loopback benchmark shares, whatever its client (`node:http` POSTs in
 * http-load.ts, undici GETs in gateway-load.ts): requests prepared before the timed window and handed out
 * by a source, sent one after another (latency) or with a fixed number in flight (saturation), every
 * answer checked and each failure logged, never thrown.
 */

/** A client: sends one request, resolving with its latency in ms (a bad answer is logged, not thrown). */
export interface Sender<R> {
  send(request: R): Promise<number>;
}

/** The next prepared request: `undefined` once the batch is used up (or too old to use). */
export type Source<R> = () => R | undefined;

/** Failed responses (and transport errors), with a few distinct samples to print. */
export class ErrorLog {
  count = 0;
  /** How many of `count` happened before the measured windows. */
  duringWarmup = 0;
  readonly samples = new Map<string, number>();

  add(what: string): void {
    this.count++;
    const key = what.slice(0, 300);
    if (this.samples.size < 8 || this.samples.has(key))
      this.samples.set(key, (this.samples.get(key) ?? 0) + 1);
  }
}

/** A source handing out each prepared request once; with `maxAgeMs`, none once the batch is that old. */
export function batchSource<R>(batch: readonly R[], maxAgeMs = Number.POSITIVE_INFINITY): Source<R> {
  const born = performance.now();
  let i = 0;
  return () => (i < batch.length && performance.now() - born < maxAgeMs ? batch[i++] : undefined);
}

/** A source that never runs dry: the same request every time (requests that need nothing fresh). */
export function constantSource<R>(request: R): Source<R> {
  return () => request;
}

/** The hrtime (ns) `ms` from now: a deadline for `sequential` and `saturate`. */
export function deadlineAfter(ms: number): bigint {
  return process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
}

/**
 * Requests one after another (concurrency 1) until the source runs dry, `count` were sent or `deadline`
 * (hrtime ns) passed; the latency of each (ms).
 */
export async function sequential<R>(
  sender: Sender<R>,
  next: Source<R>,
  until: { readonly count?: number; readonly deadline?: bigint } = {},
): Promise<number[]> {
  const { count = Number.POSITIVE_INFINITY, deadline } = until;
  const latencies: number[] = [];
  while (latencies.length < count && (deadline === undefined || process.hrtime.bigint() < deadline)) {
    const request = next();
    if (request === undefined) break;
    latencies.push(await sender.send(request));
  }
  return latencies;
}

export interface Saturation {
  readonly completed: number;
  readonly seconds: number;
  readonly latencies: number[];
  /** True when the source ran dry before the deadline (the window was shorter). */
  readonly ranDry: boolean;
}

/**
 * `concurrency` requests in flight at all times until `deadline` (hrtime ns) or until the source runs dry;
 * the time runs from the first send to the last response.
 */
export async function saturate<R>(
  sender: Sender<R>,
  concurrency: number,
  next: Source<R>,
  deadline: bigint,
): Promise<Saturation> {
  const latencies: number[] = [];
  let ranDry = false;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (process.hrtime.bigint() < deadline) {
      const request = next();
      if (request === undefined) {
        ranDry = true;
        return;
      }
      latencies.push(await sender.send(request));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { completed: latencies.length, seconds, latencies, ranDry };
}

/** The `q` quantile (0..1) of the values, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
