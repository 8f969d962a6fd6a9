import type { ConfigOverrides } from '../../config/types.ts';
import { type DevServer, startDevServer } from '../../sts/dev-server.ts';
import { KeyFileError } from '../../sts/key-file.ts';
import { CliError, type Command, EXIT, parsePort, UsageError } from '../command.ts';
import { loadCliConfig } from '../config-file.ts';

export const dev: Command = {
  name: 'dev',
  summary: 'everything in one process on embedded SQLite',
  description:
    'Runs Warrant on this machine with no external service and no configuration file needed.\n' +
    'On first run it creates the data directory and the STS signing key (<data>/keys/sts-signing.jwk,\n' +
    'mode 0600); later runs reuse that key. Today it serves the JWKS (/.well-known/jwks.json), /healthz\n' +
    'and a service description at /; token endpoints, gateway, ledger and dashboard are coming.\n' +
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
  },
  examples: ['warrant dev', 'warrant dev --port 0 --data /tmp/warrant-dev'],
  async run({ values }, io) {
    const port = typeof values['port'] === 'string' ? parsePort(values['port']) : undefined;
    const host = values['host'] as string | undefined;
    if (host === '') throw new UsageError('--host expects an address, e.g. 127.0.0.1');
    if (values['data'] === '') throw new UsageError('--data expects a directory');
    // Undefined members are skipped by the merge, so only the flags given override the file.
    const overrides: ConfigOverrides = {
      dataDir: values['data'] as string | undefined,
      sts: { listen: { port, host } },
    };
    const config = loadCliConfig(values['config'] as string | undefined, overrides);

    let server: DevServer;
    try {
      server = await startDevServer(config);
    } catch (error) {
      throw explainStartFailure(error, config.sts.listen.host, config.sts.listen.port);
    }
    if (server.keyFile.created)
      io.err(`created the STS signing key ${server.kid} in ${server.keyFile.path}\n`);
    io.out(`warrant dev listening on ${server.url} (data: ${config.dataDir}, store: ${config.store.kind})\n`);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const stop = (name: NodeJS.Signals): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve(name);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
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
