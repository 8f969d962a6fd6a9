/**
 * The client of bench/gateway.bench.ts (a `Sender` for load.ts): keep-alive HTTP/1.1 GETs through an undici
 * `Pool` (the cheapest Node client, so the load generator takes as little of the machine as it can), every
 * answer checked, latency per request from `request()` to the last body byte. A request is its headers:
 * those that must be fresh (DPoP proofs) are prepared before the timed window.
 */
import { Pool } from 'undici';
import { ErrorLog, type Sender } from './load.ts';

export type Headers = Readonly<Record<string, string>>;

export class Target implements Sender<Headers> {
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
