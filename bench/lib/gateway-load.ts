/**
 * The load generator of bench/gateway.bench.ts: keep-alive HTTP/1.1 GETs through an undici `Pool` (the
 * cheapest Node client, so the load generator takes as little of the machine as it can), every answer
 * checked, latency per request from `request()` to the last body byte. Requests whose headers must be
 * fresh (DPoP proofs) are prepared before the timed window and handed out by a `HeaderSource`.
 */
import { Pool } from 'undici';
import { ErrorLog } from './http-load.ts';

export type Headers = Readonly<Record<string, string>>;

/** The next request's headers: `undefined` once the prepared batch is used up. */
export type HeaderSource = () => Headers | undefined;

export class Target {
  readonly name: string;
  readonly url: string;
  readonly errors = new ErrorLog();
  readonly #pool: Pool;
  readonly #path: string;
  readonly #expect: string;

  /** `expect`: a substring every good answer's body holds. */
  constructor(name: string, url: string, connections: number, expect: string) {
    const u = new URL(url);
    this.name = name;
    this.url = url;
    this.#path = `${u.pathname}${u.search}`;
    this.#expect = expect;
    this.#pool = new Pool(u.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  }

  /** One GET; resolves with its latency in ms (a bad answer is logged, never thrown). */
  async send(headers: Headers): Promise<number> {
    const start = process.hrtime.bigint();
    try {
      const response = await this.#pool.request({ method: 'GET', path: this.#path, headers });
      const body = await response.body.text();
      if (response.statusCode !== 200 || !body.includes(this.#expect))
        this.errors.add(`HTTP ${response.statusCode} ${body}`);
    } catch (error) {
      this.errors.add(`transport: ${(error as Error).message}`);
    }
    return Number(process.hrtime.bigint() - start) / 1e6;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** A source handing out each prepared header set once. */
export function batchSource(batch: readonly Headers[]): HeaderSource {
  let i = 0;
  return () => (i < batch.length ? batch[i++] : undefined);
}

/** A source that never runs dry: the same headers every time (requests that need nothing fresh). */
export function constantSource(headers: Headers = {}): HeaderSource {
  return () => headers;
}

/** `n` requests one after another (concurrency 1), or fewer if the source runs dry; latencies in ms. */
export async function sequential(target: Target, next: HeaderSource, n: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const headers = next();
    if (headers === undefined) break;
    latencies.push(await target.send(headers));
  }
  return latencies;
}

export interface Saturation {
  readonly completed: number;
  readonly seconds: number;
  readonly latencies: number[];
  /** True when the prepared requests ran out before the deadline (the window was shorter). */
  readonly ranDry: boolean;
}

/** `concurrency` requests in flight until `ms` have passed or the source runs dry. */
export async function saturate(
  target: Target,
  concurrency: number,
  next: HeaderSource,
  ms: number,
): Promise<Saturation> {
  const latencies: number[] = [];
  let ranDry = false;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  const worker = async () => {
    while (process.hrtime.bigint() < deadline) {
      const headers = next();
      if (headers === undefined) {
        ranDry = true;
        return;
      }
      latencies.push(await target.send(headers));
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
