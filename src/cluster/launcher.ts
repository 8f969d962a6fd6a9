/**
 * A local cluster on this machine (`warrant cluster up`): N control planes (`warrant serve`) and N gateways
 * (`warrant gateway`) as child processes, every one reading the SAME configuration file and differing only
 * by `--listen` (and `--id`), over the one PostgreSQL and the one Redis the file names. In front of each
 * plane a TCP balancer (balancer.ts) listens on the configured address — `sts.listen` for the control
 * planes, `gateway.listen` for the gateways — as a Kubernetes Service would: `sts.issuer` and
 * `gateway.issuer` name the control planes' front, `gateway.publicUrl` the gateways' front.
 *
 * Replicas start one after the other (the first control plane creates the schema and the keys in the
 * shared store and data directory), each waited for until it prints that it listens and, for a gateway,
 * until its /readyz answers 200. A replica that exits while the cluster runs is started again on the same
 * address after `restartDelayMs`, as a Deployment would. `stop()` sends SIGTERM to every child it started,
 * then SIGKILL to those still running after `stopTimeoutMs`; it never signals anything else.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load-config.ts';
import type { WarrantConfig } from '../config/types.ts';
import { NONCE_SECRET_ENV } from '../runtime/control-plane.ts';
import { type Balancer, startBalancer } from './balancer.ts';

export type MemberRole = 'control-plane' | 'gateway';

export interface Member {
  /** `cp-1`, `gw-2`, … */
  readonly name: string;
  readonly role: MemberRole;
  readonly host: string;
  readonly port: number;
  /** `http://host:port` of this replica itself (not the front). */
  readonly url: string;
  /** The current process id (changes when the replica is restarted). */
  readonly pid: number | undefined;
  /** How many times this replica was started again after it exited. */
  readonly restarts: number;
  /** Whether its process is running. */
  readonly running: boolean;
  /** Sends `signal` to this replica's current process (tests: `SIGKILL`, `SIGSTOP`). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the replica listens again after a restart (or at once when it runs and listens). */
  listening(): Promise<void>;
}

export interface ClusterOptions {
  readonly configFile: string;
  /** Replicas per plane (default 2). */
  readonly replicas?: number;
  /** Added to the children's environment (e.g. the admin credential). */
  readonly env?: Readonly<Record<string, string>>;
  /** Every line a child writes (its logs: JSON lines on stdout, messages on stderr). */
  readonly onLine?: (member: string, stream: 'stdout' | 'stderr', line: string) => void;
  /** Lifecycle events (`started`, `exited`, `restarting`), one line each. */
  readonly onEvent?: (message: string) => void;
  /** Pause before a replica that exited is started again (default 1000 ms; 0: never restart). */
  readonly restartDelayMs?: number;
  /** How long a replica may take to listen (default 60 s). */
  readonly startTimeoutMs?: number;
  /** SIGKILL after this long when a child ignores SIGTERM (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** Extra arguments for every child (e.g. `--log-level warn`). */
  readonly args?: readonly string[];
}

export interface Cluster {
  readonly config: WarrantConfig;
  /** The control planes' front (the issuer's address). */
  readonly stsUrl: string;
  /** The gateways' front. */
  readonly gatewayUrl: string;
  readonly members: readonly Member[];
  /** Stops every child this cluster started, and the fronts. Idempotent. */
  stop(): Promise<void>;
}

const WARRANT_BIN = fileURLToPath(new URL('../../bin/warrant.js', import.meta.url));

/** Checks the configuration for a cluster; throws a TypeError saying what to set. */
export function checkClusterConfig(config: WarrantConfig): void {
  if (config.store.kind !== 'postgres')
    throw new TypeError('a cluster needs store.kind: postgres (the replicas share one store)');
  if (!config.redis)
    throw new TypeError('a cluster needs redis (revocations and key changes between replicas)');
  if (config.ledger.mode !== 'replicated')
    throw new TypeError('a cluster needs ledger.mode: replicated (several gateways record into one ledger)');
  if (!config.sts.issuer)
    throw new TypeError('a cluster needs sts.issuer: the URL of the control planes’ front (sts.listen)');
  if (!config.gateway.issuer)
    throw new TypeError('a cluster needs gateway.issuer (the same URL as sts.issuer)');
  if (!config.gateway.publicUrl)
    throw new TypeError('a cluster needs gateway.publicUrl: the URL of the gateways’ front (gateway.listen)');
  if (config.gateway.replayCache !== 'redis')
    throw new TypeError(
      'a cluster needs gateway.replayCache: redis (a proof used at one gateway is used at all)',
    );
}

/** A free TCP port on `host` (free when asked; the replica binds it right after). */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

class Replica implements Member {
  readonly name: string;
  readonly role: MemberRole;
  readonly host: string;
  readonly port: number;
  readonly #options: ClusterOptions;
  #child: ChildProcess | undefined;
  #restarts = 0;
  #stopping = false;
  #ready: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | undefined;
  readonly #shared: Record<string, string>;

  constructor(
    name: string,
    role: MemberRole,
    host: string,
    port: number,
    options: ClusterOptions,
    shared: Record<string, string>,
  ) {
    this.#shared = shared;
    this.name = name;
    this.role = role;
    this.host = host;
    this.port = port;
    this.#options = options;
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  get restarts(): number {
    return this.#restarts;
  }
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.#child!.kill(signal);
  }

  listening(): Promise<void> {
    return this.#ready;
  }

  /** Starts the process; resolves once it listens (and, for a gateway, is ready). */
  start(): Promise<void> {
    const o = this.#options;
    const command = this.role === 'control-plane' ? 'serve' : 'gateway';
    const args = [
      WARRANT_BIN,
      command,
      '--config',
      o.configFile,
      '--listen',
      `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`,
      ...(this.role === 'gateway' ? ['--id', this.name] : []),
      ...(o.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...o.env, ...this.#shared },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let tail = '';
    let announced: (() => void) | undefined;
    const lines = (stream: 'stdout' | 'stderr') => {
      let buffer = '';
      child[stream]!.setEncoding('utf8');
      child[stream]!.on('data', (data: string) => {
        buffer += data;
        let end = buffer.indexOf('\n');
        while (end >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (stream === 'stderr') tail = `${tail}${line}\n`.slice(-2000);
          if (announced && /^warrant (serve|gateway) listening on /.test(line)) announced();
          o.onLine?.(this.name, stream, line);
          end = buffer.indexOf('\n');
        }
      });
    };
    lines('stdout');
    lines('stderr');
    const timeoutMs = o.startTimeoutMs ?? 60_000;
    this.#ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new Error(`${this.name} did not listen within ${timeoutMs} ms`));
      }, timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        announced = undefined;
        reject(error);
      };
      child.once('exit', (code, signal) => {
        if (announced)
          fail(new Error(`${this.name} exited (${signal ?? code}) before it listened:\n${tail}`));
      });
      child.once('error', (error) => fail(error));
      announced = () => {
        announced = undefined;
        clearTimeout(timer);
        const ready = this.role === 'gateway' ? this.#readyz(timeoutMs) : Promise.resolve();
        ready.then(resolve, reject);
      };
    });
    this.#ready.catch(() => {});
    child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      const delay = o.restartDelayMs ?? 1000;
      o.onEvent?.(`${this.name} (pid ${child.pid}) exited (${signal ?? code})`);
      if (delay <= 0) return;
      o.onEvent?.(`${this.name} restarting in ${delay} ms on ${this.url}`);
      this.#restartTimer = setTimeout(() => {
        if (this.#stopping) return;
        this.#restarts++;
        this.start().then(
          () => o.onEvent?.(`${this.name} (pid ${this.pid}) listening again on ${this.url}`),
          (error: Error) => o.onEvent?.(`${this.name} failed to restart: ${error.message}`),
        );
      }, delay);
    });
    return this.#ready;
  }

  async #readyz(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.status === 200) return;
      } catch {
        // not yet
      }
      if (Date.now() > until || !this.running) throw new Error(`${this.name} did not become ready`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts the cluster described by `options.configFile`; rejects (having stopped what it started) on failure. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const config = loadConfig(options.configFile);
  checkClusterConfig(config);
  const n = options.replicas ?? 2;
  if (!Number.isSafeInteger(n) || n < 1 || n > 16) throw new TypeError('replicas must be 1 to 16');
  const replicas: Replica[] = [];
  // What every replica must share that is not in the file: the DPoP nonce secret (a random one for this
  // cluster unless the environment brings one).
  const shared: Record<string, string> = {};
  if (!options.env?.[NONCE_SECRET_ENV] && !process.env[NONCE_SECRET_ENV])
    shared[NONCE_SECRET_ENV] = randomBytes(32).toString('base64url');
  const fronts: Balancer[] = [];
  // A child left running when this process exits abruptly: killed with it (only the children started here).
  const onExit = () => {
    for (const r of replicas) r.kill('SIGKILL');
  };
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const timeout = options.stopTimeoutMs ?? 10_000;
      // Gateways first (they depend on the control planes), then the control planes.
      await Promise.all(replicas.filter((r) => r.role === 'gateway').map((r) => r.stop(timeout)));
      await Promise.all(replicas.filter((r) => r.role === 'control-plane').map((r) => r.stop(timeout)));
      await Promise.all(fronts.map((f) => f.close()));
      process.off('exit', onExit);
    })();
    return stopping;
  };
  try {
    const backends = (role: MemberRole) => () =>
      replicas.filter((r) => r.role === role && r.running).map((r) => ({ host: r.host, port: r.port }));
    const sts = await startBalancer(
      config.sts.listen.host,
      config.sts.listen.port,
      backends('control-plane'),
    );
    fronts.push(sts);
    const gw = await startBalancer(
      config.gateway.listen.host,
      config.gateway.listen.port,
      backends('gateway'),
    );
    fronts.push(gw);
    for (const role of ['control-plane', 'gateway'] as const) {
      const host = role === 'control-plane' ? config.sts.listen.host : config.gateway.listen.host;
      const bind = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      for (let i = 1; i <= n; i++) {
        const replica = new Replica(
          `${role === 'control-plane' ? 'cp' : 'gw'}-${i}`,
          role,
          bind,
          await freePort(bind),
          options,
          shared,
        );
        replicas.push(replica);
        await replica.start();
        options.onEvent?.(`${replica.name} (pid ${replica.pid}) listening on ${replica.url}`);
      }
    }
    const url = (b: Balancer) => `http://${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`;
    return { config, stsUrl: url(sts), gatewayUrl: url(gw), members: replicas, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
