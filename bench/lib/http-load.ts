/**
 * The client of bench/sts.bench.ts (a `Sender` for load.ts): keep-alive `node:http` connections POSTing
 * requests prepared (signed) before the timed window, every response checked, latency per request from
 * `request()` to the last body byte. And where CPU went, from Linux's /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { ErrorLog, Sender } from './load.ts';

export interface PreparedRequest {
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer;
}

/** True when the response is the success the workload expects. */
export type ResponseCheck = (status: number, body: Buffer) => boolean;

export class LoadClient implements Sender<PreparedRequest> {
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

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number | string): number | undefined {
  try {
    return cpuOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by the main thread of process `pid` (its thread id is the pid), from /proc: the
 * event loop's share of `processCpuSeconds`, the rest being libuv's pool and worker threads.
 */
export function mainThreadCpuSeconds(pid: number | string): number | undefined {
  try {
    return cpuOfStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
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
