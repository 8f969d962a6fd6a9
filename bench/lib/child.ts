/**
 * Process plumbing for the server benchmarks: each server (STS, gateway, upstream, plain proxy, baselines)
 * runs in its own child process, so the load generator never shares its event loop, and talks to the
 * benchmark over IPC.
 *
 * Child side: `serveCommands` answers `cpu` (this process's CPU time and the requests its server has
 * received so far), `profile-start` / `profile-stop` (a V8 CPU profile of just the window between them,
 * the same `.cpuprofile` format as `node --cpu-prof`), `stop`, and any command of the child's own.
 * Parent side: `startChild` forks a child and sends it commands, one answer per command.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigOverrides, WarrantConfig } from '../../src/config/types.ts';

export interface Command {
  readonly type: string;
  readonly [name: string]: unknown;
}

/** What `cpu` answers: CPU microseconds (user + system, all threads of the process) and requests received. */
export interface CpuSnapshot {
  readonly type: 'cpu';
  readonly cpuMicros: number;
  /** CPU microseconds of the main thread alone (the event loop; process.threadCpuUsage). */
  readonly mainThreadMicros: number;
  readonly served: number;
  readonly extra?: Record<string, number>;
}

export interface ServeOptions {
  /** The server whose `request` events are counted. */
  readonly server?: Server;
  /** Closes everything; the process exits once it resolves. */
  readonly stop: () => Promise<void>;
  /** Counters the child adds to every `cpu` answer. */
  readonly stats?: () => Record<string, number>;
  /** The child's own commands: answer a message, or undefined for an unknown command. */
  readonly handle?: (command: Command) => Promise<unknown> | undefined;
}

/** Child side: counts requests, then answers the parent's commands one at a time. Sends `ready` first. */
export function serveCommands(ready: Record<string, unknown>, options: ServeOptions): void {
  let served = 0;
  options.server?.on('request', () => {
    served++;
  });
  let session: Session | undefined;
  const answer = async (command: Command): Promise<unknown> => {
    switch (command.type) {
      case 'cpu': {
        const { user, system } = process.cpuUsage();
        const main = process.threadCpuUsage();
        return {
          type: 'cpu',
          cpuMicros: user + system,
          mainThreadMicros: main.user + main.system,
          served,
          ...(options.stats ? { extra: options.stats() } : {}),
        } satisfies CpuSnapshot;
      }
      case 'profile-start':
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', {
          interval: Number(command['intervalMicros'] ?? 200),
        });
        await session.post('Profiler.start');
        return { type: 'ok' };
      case 'profile-stop': {
        const { profile } = await session!.post('Profiler.stop');
        session!.disconnect();
        session = undefined;
        writeFileSync(String(command['file']), JSON.stringify(profile));
        return { type: 'ok' };
      }
      case 'stop':
        await options.stop();
        return { type: 'stopped' };
      default: {
        const handled = options.handle?.(command);
        if (handled === undefined) return { type: 'error', message: `unknown command ${command.type}` };
        return handled;
      }
    }
  };
  process.on('message', (command: Command) => {
    answer(command).then(
      (message) => {
        if (command.type === 'stop') process.send!(message, () => process.exit(0));
        else process.send!(message);
      },
      (error: unknown) => process.send!({ type: 'error', message: String(error) }),
    );
  });
  process.send!({ type: 'ready', ...ready });
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly ready: { readonly url: string; readonly [name: string]: unknown };
  /** Sends a command and resolves with the child's one answer (rejects on an `error` answer). */
  request<T>(command: Command): Promise<T>;
  cpu(): Promise<CpuSnapshot>;
  stop(): Promise<void>;
}

/** Parent side: forks `script` (a URL or path) with `spec` as its JSON argument; resolves once it is ready. */
export async function startChild(
  name: string,
  script: URL,
  spec: unknown,
  execArgv: string[] = [],
): Promise<Child> {
  const child = fork(script, [JSON.stringify(spec)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string }));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  // One command at a time, so each answer belongs to the command before it.
  let queue: Promise<unknown> = Promise.resolve();
  const request = <T>(command: Command): Promise<T> => {
    const next = queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          const died = () => reject(new Error(`${name} exited while handling ${command.type}`));
          child.once('exit', died);
          child.once('message', (m: { type?: string; message?: string }) => {
            child.off('exit', died);
            if (m.type === 'error') reject(new Error(`${name}: ${m.message}`));
            else resolve(m as T);
          });
          child.send(command, (error) => error && reject(error));
        }),
    );
    queue = next.catch(() => {});
    return next;
  };
  return {
    name,
    pid: child.pid!,
    ready,
    request,
    cpu: () => request<CpuSnapshot>({ type: 'cpu' }),
    async stop() {
      if (child.exitCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.send({ type: 'stop' }, () => {});
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: the JSON spec the parent started this child with (`startChild`'s `spec`). */
export function childSpec<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

/**
 * Child side: the configuration of a Warrant server child — its trust domain and data directory, and the
 * `part` (`sts` or `gateway`) listening on a free loopback port with `settings`.
 */
export function loopbackConfig(
  spec: { readonly trustDomain: string; readonly dataDir: string },
  part: 'sts' | 'gateway',
  settings: Record<string, unknown>,
): WarrantConfig {
  return loadConfig(undefined, {
    trustDomain: spec.trustDomain,
    dataDir: spec.dataDir,
    [part]: { listen: { host: '127.0.0.1', port: 0 }, ...settings },
  } as ConfigOverrides);
}

/** Child side: `server` listening on a free loopback port; resolves with its base URL. */
export async function listenLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Child side: drops every connection (keep-alive ones too) and closes `server`. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
