/**
 * A small HTTP/1.1 load generator for loopback benchmarks: keep-alive `node:http` connections, requests
 * prepared (signed) before the timed window, every response checked. Latency is measured per request from
 * `request()` to the last body byte.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export interface PreparedRequest {
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer;
}

/** Where a batch of prepared requests comes from: `undefined` once it is used up or too old to use. */
export type RequestSource = () => PreparedRequest | undefined;

/** True when the response is the success the workload expects. */
export type ResponseCheck = (status: number, body: Buffer) => boolean;

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

export class LoadClient {
  readonly #agent: Agent;
  readonly #url: URL;
  readonly #check: ResponseCheck;
  readonly errors: ErrorLog;

  constructor(endpoint: string, concurrency: number, check: ResponseCheck, errors: ErrorLog) {
    this.#url = new URL(endpoint);
    this.#agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
    this.#check = check;
    this.errors = errors;
  }

  /** Sends one request; resolves with its latency in ms (the response checked and, if bad, logged). */
  send(prepared: PreparedRequest): Promise<number> {
    return new Promise((resolve) => {
      const start = process.hrtime.bigint();
      const req = request(
        {
          agent: this.#agent,
          host: this.#url.hostname,
          port: this.#url.port,
          path: this.#url.pathname,
          method: 'POST',
          headers: prepared.headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            if (!this.#check(status, body)) this.errors.add(`HTTP ${status} ${body.toString('utf8')}`);
            resolve(ms);
          });
          res.on('error', (error) => {
            this.errors.add(`response error: ${error.message}`);
            resolve(Number(process.hrtime.bigint() - start) / 1e6);
          });
        },
      );
      req.on('error', (error) => {
        this.errors.add(`request error: ${error.message}`);
        resolve(Number(process.hrtime.bigint() - start) / 1e6);
      });
      req.end(prepared.body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/**
 * Sends requests one after another (concurrency 1) until the source runs dry or `deadline` (hrtime ns)
 * passes; returns each latency (ms).
 */
export async function sequential(
  client: LoadClient,
  next: RequestSource,
  deadline?: bigint,
): Promise<number[]> {
  const latencies: number[] = [];
  while (deadline === undefined || process.hrtime.bigint() < deadline) {
    const r = next();
    if (r === undefined) break;
    latencies.push(await client.send(r));
  }
  return latencies;
}

export interface Saturation {
  readonly completed: number;
  readonly seconds: number;
  readonly latencies: number[];
}

/**
 * `concurrency` requests in flight at all times until `deadline` (hrtime ns) or until the source runs dry;
 * the time runs from the first send to the last response.
 */
export async function saturate(
  client: LoadClient,
  concurrency: number,
  next: RequestSource,
  deadline: bigint,
): Promise<Saturation> {
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (process.hrtime.bigint() < deadline) {
      const r = next();
      if (r === undefined) return;
      latencies.push(await client.send(r));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { completed: latencies.length, seconds, latencies };
}

/** The `q` quantile (0..1) of the values, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number | string): number | undefined {
  try {
    return cpuOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function cpuOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm: state is [0]; utime (field 14) is [11], stime [12]; in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds used so far by every process with this command name (e.g. `postgres`), from /proc. */
export function commandCpuSeconds(comm: string): number | undefined {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === comm) total += cpuOfStat(stat);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Busy and total CPU time of the whole machine so far, from /proc/stat (Linux); undefined elsewhere. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}
