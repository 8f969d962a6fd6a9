/**
 * A Redis server of a test's own, for fault tests: non-persistent (`--save "" --appendonly no`), on a free
 * loopback port, killed (`kill -9`), paused (`SIGSTOP`, a Redis that accepts bytes and answers nothing)
 * and restarted on the same port. Only this process's own pid is ever signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free loopback TCP port (free when asked; the caller binds it right away). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something on `port` answers a Redis PING within `ms`. */
function pong(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString('latin1').startsWith('+PONG')));
    socket.on('error', () => done(false));
  });
}

export class OwnRedis {
  readonly port: number;
  readonly #dir: string;
  #process: ChildProcess | undefined;
  readonly #onExit = () => this.#process?.kill('SIGKILL');

  private constructor(port: number) {
    this.port = port;
    this.#dir = mkdtempSync(join(tmpdir(), 'warrant-redis-'));
    process.once('exit', this.#onExit);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Starts `redis-server` on a free port and waits until it answers. */
  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.#spawn();
    return redis;
  }

  async #spawn(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.#dir,
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    this.#process = child;
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
    });
    failed.catch(() => {});
    for (let i = 0; i < 100; i++) {
      if (await Promise.race([pong(this.port, 200), failed])) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  /** `kill -9` the server (its memory is gone) and waits until it has exited. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a fresh server (empty memory) on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  /** `SIGSTOP`: the server keeps its connections and answers nothing. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  /** `SIGCONT`: it answers again (including what it was asked while paused). */
  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    process.off('exit', this.#onExit);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
