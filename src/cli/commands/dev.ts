import type { ConfigOverrides } from '../../config/types.ts';
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
    'The dashboard is served under /ui (docs/dashboard.md): operators sign in with the admin token, persons\n' +
    'through the dev identity provider at /dev-idp (development only: anyone may say who they are).\n' +
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
      description:
        'also tell the demo story on real MCP and A2A: delegation, approval, refusals, quarantine, a breaker, containment',
    },
    'demo-exit': {
      type: 'boolean',
      description: 'with --demo: stop once the story is told (exit 0) instead of serving on',
    },
    'gateway-port': {
      type: 'string',
      value: 'port',
      description: 'gateway TCP port (default 8081, or --port + 1; 0 picks one)',
    },
    ...LOG_OPTIONS,
  },
  examples: [
    'warrant dev',
    'warrant dev --demo',
    'warrant dev --demo --demo-exit --data /tmp/warrant-demo',
    'warrant dev --port 0 --data /tmp/warrant-dev',
  ],
  async run({ values }, io) {
    // The demo's story is the output: access logs only when asked for (--log-level or $LOG_LEVEL).
    const quiet = values['demo'] === true && values['log-level'] === undefined && !io.env['LOG_LEVEL'];
    applyLogOptions(quiet ? { ...values, 'log-level': 'warn' } : values, io.env, io.stdoutIsTTY === true);
    const port = typeof values['port'] === 'string' ? parsePort(values['port']) : undefined;
    const host = values['host'] as string | undefined;
    if (host === '') throw new UsageError('--host expects an address, e.g. 127.0.0.1');
    if (values['data'] === '') throw new UsageError('--data expects a directory');
    if (values['demo-exit'] === true && values['demo'] !== true)
      throw new UsageError('--demo-exit goes with --demo');
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

    // The runtime (store drivers, Cedar) loads only for this command, so other commands start fast.
    const { startDev, PartStartError } = await import('../../runtime/dev.ts');
    let dev: Awaited<ReturnType<typeof startDev>>;
    try {
      dev = await startDev(config, {
        ...(io.env[config.admin.tokenEnv] ? { adminToken: io.env[config.admin.tokenEnv] } : {}),
        demo: values['demo'] === true,
        // The story is the output of `warrant dev --demo`: on stdout, line by line as it happens.
        onDemoLine: (line) => io.out(`${line}\n`),
        onNotice: (line) => io.err(`${line}\n`),
      });
    } catch (error) {
      if (error instanceof PartStartError) throw explainStartFailure(error.cause, error.host, error.port);
      throw error;
    }
    const { controlPlane, dataPlane } = dev;
    io.out(
      `warrant dev listening on ${controlPlane.url} (data: ${config.dataDir}, store: ${config.store.kind})\n`,
    );
    if (config.dashboard.enabled)
      io.err(
        `dashboard on ${controlPlane.sts.issuer}/ui/ (operators: the admin token; persons: the dev identity provider)\n`,
      );
    io.err(
      `gateway listening on ${dataPlane.url} (${dataPlane.replica.gateway.routes.length} routes; decisions in the ledger ${config.dataDir}/ledger.db)\n`,
    );
    if (values['demo-exit'] === true) {
      await dev.close();
      return EXIT.ok;
    }
    if (values['demo'] === true) io.out('The servers keep running (Ctrl-C stops them).\n');

    const signal = await waitForSignal();
    await dev.close();
    io.err(`warrant dev stopped (${signal})\n`);
    return EXIT.ok;
  },
};

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
