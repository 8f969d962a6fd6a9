import { CliError, type Command, EXIT, UsageError } from '../command.ts';
import { loadCliConfig, REQUIRED_CONFIG_OPTION } from '../config-file.ts';
import { applyLogOptions, LOG_OPTIONS } from '../log-options.ts';
import { LISTEN_OPTION, listenOverride } from '../replica-options.ts';
import { waitForSignal } from './wait-for-signal.ts';

export const serve: Command = {
  name: 'serve',
  summary: 'the control plane: STS and admin API',
  description:
    'Runs the control plane from a configuration file: the STS (token endpoints, introspection, revocation,\n' +
    'status lists, revocation feed, admin API) against the configured store (SQLite file or PostgreSQL).\n' +
    'Run several replicas against one PostgreSQL with `redis` configured (same file, own --listen each):\n' +
    'revocations and signing-key rotations reach every replica; with ledger.mode: replicated one of them\n' +
    'at a time integrates the ledger (a lease in PostgreSQL) and every one serves it under /ledger/.\n' +
    'Logs one JSON line per request on standard output; /metrics, /healthz and /readyz on the listener.\n' +
    'The admin API needs a credential in the environment variable named by admin.tokenEnv\n' +
    '(default WARRANT_ADMIN_TOKEN); without it the admin API answers 404.',
  options: {
    ...REQUIRED_CONFIG_OPTION,
    ...LISTEN_OPTION,
    ...LOG_OPTIONS,
  },
  examples: [
    'WARRANT_ADMIN_TOKEN=$(openssl rand -hex 32) warrant serve --config warrant.yaml',
    'warrant serve --config warrant.yaml --listen 127.0.0.1:8090   # a second replica on this host',
  ],
  async run({ values }, io) {
    applyLogOptions(values, io.env, false);
    const file = values['config'] as string | undefined;
    if (!file)
      throw new UsageError('serve needs --config <file>; for a quick start without one use `warrant dev`');
    const listen = listenOverride(values);
    const config = await loadCliConfig(file, listen ? { sts: { listen } } : {});
    const { startControlPlane } = await import('../../runtime/control-plane.ts');
    const adminToken = io.env[config.admin.tokenEnv];
    if (!adminToken) io.err(`no admin credential in $${config.admin.tokenEnv}: the admin API is disabled\n`);
    let plane: Awaited<ReturnType<typeof startControlPlane>>;
    try {
      plane = await startControlPlane(config, adminToken ? { adminToken } : {});
    } catch (error) {
      throw new CliError(
        `cannot start the control plane: ${(error as Error).message}`,
        (error as { code?: unknown }).code === 'WARRANT_HOT_STATE_UNAVAILABLE'
          ? 'Is Redis (redis.url) running? With redis configured the STS needs it to start.'
          : 'Check the store URL and the listen address in the configuration.',
        {
          cause: error,
        },
      );
    }
    io.out(
      `warrant serve listening on ${plane.url} (issuer: ${plane.sts.issuer}, store: ${config.store.kind})\n`,
    );
    // SIGHUP: the TLS certificate (sts.tls) again, without a restart.
    const signal = await waitForSignal(
      config.sts.tls
        ? () =>
            io.err(
              plane.reloadTls()
                ? 'reloaded: TLS certificate\n'
                : 'TLS certificate reload failed, keeping the running one\n',
            )
        : undefined,
    );
    await plane.close();
    io.err(`warrant serve stopped (${signal})\n`);
    return EXIT.ok;
  },
};
