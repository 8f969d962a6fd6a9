/**
 * A PostgreSQL server of a test's own, for fault tests: a fresh cluster (`initdb`, trust auth, no fsync)
 * in a temp directory, on a free loopback port, started and stopped with `pg_ctl` on that directory only —
 * the shared PostgreSQL is never touched. As root, the server runs as the `postgres` user (PostgreSQL
 * refuses to run as root).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.ts';

export class OwnPostgres {
  readonly port: number;
  readonly #dir: string;
  readonly #data: string;
  #running = false;
  readonly #onExit = () => {
    if (this.#running) this.#pgCtl(['-m', 'immediate', 'stop'], false);
  };

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
    this.#data = join(dir, 'data');
    process.once('exit', this.#onExit);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates the cluster and starts it (resolves once it accepts connections). */
  static async start(): Promise<OwnPostgres> {
    const dir = mkdtempSync(join('/tmp', 'warrant-pg-'));
    const pg = new OwnPostgres(await freePort(), dir);
    if (userInfo().uid === 0) chownSync(dir, uid('postgres'), gid('postgres'));
    pg.#run('initdb', ['-D', pg.#data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
    pg.#pgCtl(['start'], true);
    return pg;
  }

  /** Stops the server at once (`-m immediate`: like a crash); its data stays for a restart. */
  stop(): void {
    if (!this.#running) return;
    this.#pgCtl(['-m', 'immediate', 'stop'], true);
  }

  /** Starts the stopped server again on the same port and data (resolves once it accepts connections). */
  restart(): void {
    if (this.#running) return;
    this.#pgCtl(['start'], true);
  }

  /** Stops the server and removes its directory. */
  destroy(): void {
    this.stop();
    process.off('exit', this.#onExit);
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #pgCtl(args: string[], strict: boolean): void {
    const start = args[0] === 'start';
    const options = start
      ? [
          '-o',
          `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
          '-l',
          join(this.#dir, 'log'),
        ]
      : [];
    try {
      this.#run('pg_ctl', ['-D', this.#data, '-w', ...options, ...args]);
      this.#running = start;
    } catch (error) {
      if (strict) throw error;
    }
  }

  #run(command: string, args: string[]): void {
    const asRoot = userInfo().uid === 0;
    execFileSync(asRoot ? 'runuser' : command, asRoot ? ['-u', 'postgres', '--', command, ...args] : args, {
      stdio: 'ignore',
      timeout: 60_000,
    });
  }
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}
