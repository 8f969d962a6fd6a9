import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../config/types.ts';
import type { ControlPlane } from '../../sts/start.ts';
import { CliError, type Command, EXIT, parsePort, UsageError } from '../command.ts';
import { loadCliConfig } from '../config-file.ts';
import { KeyFileError } from '../key-file.ts';
import { applyLogOptions, LOG_OPTIONS } from '../log-options.ts';
import { waitForSignal } from './wait-for-signal.ts';

export const dev: Command = {
  name: 'dev',
  summary: 'everything in one process on embedded SQLite',
  description:
    'Runs Warrant on this machine with no external service and no configuration file needed.\n' +
    'On first run it creates the data directory (0700) with the SQLite store (warrant.db, 0600) holding\n' +
    'the STS signing key; later runs reuse them. It serves the STS: metadata, JWKS, /token (client\n' +
    'credentials, jwt-bearer, token exchange), /introspect, /revoke, status lists, the revocation feed\n' +
    'and the admin API. The admin token is read from $WARRANT_ADMIN_TOKEN, or created in <data>/admin-token.\n' +
    'The gateway runs beside it (default port 8081, or --port + 1) with the configured routes, trusting\n' +
    'this STS; every decision is made durable in the Merkle ledger (<data>/ledger.db) before any call is\n' +
    'forwarded. `warrant audit` reads it (trace, who, query, export, verify, reports).\n' +
    'Flags override the configuration file. Stop with Ctrl-C (SIGINT) or SIGTERM.',
  options: {
    port: {
      type: 'string',
      short: 'p',
      value: 'port',
      description: 'TCP port (default 8080; 0 picks a free port)',
    },
    host: { type: 'string', value: 'address', description: 'interface to listen on (default 127.0.0.1)' },
    data: { type: 'string', value: 'dir', description: 'data directory (default ./.warrant)' },
    config: { type: 'string', short: 'c', value: 'file', description: 'configuration file (YAML or JSON)' },
    demo: {
      type: 'boolean',
      description: 'also run a demo: a person, two agents, a tool behind the gateway, a few calls',
    },
    'gateway-port': {
      type: 'string',
      value: 'port',
      description: 'gateway TCP port (default 8081, or --port + 1; 0 picks one)',
    },
    ...LOG_OPTIONS,
  },
  examples: ['warrant dev', 'warrant dev --demo', 'warrant dev --port 0 --data /tmp/warrant-dev'],
  async run({ values }, io) {
    applyLogOptions(values, io.env, io.stdoutIsTTY === true);
    const port = typeof values['port'] === 'string' ? parsePort(values['port']) : undefined;
    const host = values['host'] as string | undefined;
    if (host === '') throw new UsageError('--host expects an address, e.g. 127.0.0.1');
    if (values['data'] === '') throw new UsageError('--data expects a directory');
    // Undefined members are skipped by the merge, so only the flags given override the file.
    const gatewayPort =
      typeof values['gateway-port'] === 'string'
        ? parsePort(values['gateway-port'])
        : port === undefined
          ? undefined
          : port === 0
            ? 0
            : port + 1;
    const overrides: ConfigOverrides = {
      dataDir: values['data'] as string | undefined,
      sts: { listen: { port, host } },
      gateway: { listen: { port: gatewayPort, host } },
    };
    const config = await loadCliConfig(values['config'] as string | undefined, overrides);

    // The control plane (store drivers, Cedar) loads only for this command, so other commands start fast.
    const { startControlPlane } = await import('../../sts/start.ts');
    let server: ControlPlane;
    try {
      server = await startControlPlane(config, {
        adminToken: adminToken(config.dataDir, io.env[config.admin.tokenEnv], io),
      });
    } catch (error) {
      throw explainStartFailure(error, config.sts.listen.host, config.sts.listen.port);
    }
    const { startGateway } = await import('../../gateway/start-gateway.ts');
    let gw: Awaited<ReturnType<typeof startGateway>>;
    try {
      gw = await startGateway(config, {
        issuer: server.sts.issuer,
        keys: () => server.sts.keys.keySet(server.sts.clock()).resolve,
      });
    } catch (error) {
      await server.close();
      throw explainStartFailure(error, config.gateway.listen.host, config.gateway.listen.port);
    }
    io.out(`warrant dev listening on ${server.url} (data: ${config.dataDir}, store: ${config.store.kind})\n`);
    io.err(
      `gateway listening on ${gw.url} (${config.gateway.routes.length} routes; decisions in the ledger ${config.dataDir}/ledger.db)\n`,
    );

    let demo: { close(): Promise<void> } | undefined;
    if (values['demo'] === true) {
      const { runDemo } = await import('../../demo/run-demo.ts');
      const result = await runDemo(server, gw, config.trustDomain);
      for (const line of result.lines) io.err(`${line}\n`);
      demo = result;
    }

    const signal = await waitForSignal();
    await demo?.close();
    await gw.close();
    await server.close();
    io.err(`warrant dev stopped (${signal})\n`);
    return EXIT.ok;
  },
};

/** The admin credential: from the environment, else a random one kept in `<data>/admin-token` (0600). */
function adminToken(dataDir: string, fromEnv: string | undefined, io: { err(text: string): void }): string {
  if (fromEnv) return fromEnv;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'admin-token');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  io.err(`created an admin token in ${path} (use it as a Bearer credential for /admin)\n`);
  return token;
}

function explainStartFailure(error: unknown, host: string, port: number): unknown {
  if (error instanceof KeyFileError) return new CliError(error.message, error.hint, { cause: error });
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new CliError(
      `${host}:${port} is already in use`,
      'Stop the other process, or pass --port <n> (--port 0 picks a free port).',
      {
        cause: error,
      },
    );
  }
  if (code === 'EACCES') {
    return new CliError(
      `not allowed to listen on ${host}:${port}`,
      'Use a port above 1023, e.g. --port 8080.',
      { cause: error },
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new CliError(
      `cannot listen on ${host}: no such local address`,
      'Pass --host 127.0.0.1 (or 0.0.0.0 for every interface).',
      {
        cause: error,
      },
    );
  }
  return error;
}
