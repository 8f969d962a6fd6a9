import { CliError, type Command, EXIT, UsageError } from '../command.ts';
import { loadCliConfig, REQUIRED_CONFIG_OPTION } from '../config-file.ts';
import { applyLogOptions, LOG_OPTIONS } from '../log-options.ts';
import { LISTEN_OPTION, listenOverride, REPLICA_ID_OPTION, replicaId } from '../replica-options.ts';
import { waitForSignal } from './wait-for-signal.ts';

export const gateway: Command = {
  name: 'gateway',
  summary: 'gateway (data plane), any number of replicas',
  description:
    'Runs the verifying gateway in front of agents, MCP servers, A2A agents, tools and LLM APIs, with the\n' +
    'routes, action catalog and action policy of the configuration file. It trusts the STS named by\n' +
    'gateway.issuer (its JWKS, status lists and revocation feed) and fails closed when revocation status is\n' +
    'older than gateway.statusStalenessSeconds. SIGHUP reloads routes, catalog, policy and the TLS certificate\n' +
    '(gateway.tls files are also watched) without dropping requests in flight; an invalid new configuration\n' +
    'is reported and the old one stays. Decisions go to the\n' +
    'Merkle ledger of the configured store (<data>/ledger.db, or PostgreSQL), durable before forwarding.\n' +
    'With gateway.replayCache: redis it does not start unless Redis answers.',
  options: {
    ...REQUIRED_CONFIG_OPTION,
    ...LISTEN_OPTION,
    ...REPLICA_ID_OPTION,
    ...LOG_OPTIONS,
  },
  examples: [
    'warrant gateway --config warrant.yaml',
    'warrant gateway --config warrant.yaml --listen 127.0.0.1:8091 --id gw-2   # another replica',
    'kill -HUP <pid>   # reload routes, catalog and policy',
  ],
  async run({ values }, io) {
    applyLogOptions(values, io.env, false);
    const file = values['config'] as string | undefined;
    if (!file) throw new UsageError('gateway needs --config <file> with gateway.issuer and gateway.routes');
    const listen = listenOverride(values);
    const id = replicaId(values);
    const overrides = { gateway: { ...(listen ? { listen } : {}), ...(id ? { id } : {}) } };
    const config = await loadCliConfig(file, overrides);
    const issuer = config.gateway.issuer;
    if (!issuer)
      throw new CliError(
        'gateway.issuer is not set',
        'Set gateway.issuer to the STS URL (e.g. http://127.0.0.1:8080).',
      );
    const { startDataPlane } = await import('../../runtime/data-plane.ts');
    const { CatalogError } = await import('../../guard/catalog.ts');
    let running: Awaited<ReturnType<typeof startDataPlane>>;
    try {
      running = await startDataPlane(config, { issuer });
    } catch (error) {
      throw new CliError(
        `cannot start the gateway: ${(error as Error).message}`,
        error instanceof CatalogError
          ? `Fix that entry of the action catalog (docs/catalog.md); \`warrant config validate ${file}\` checks it.`
          : (error as { code?: unknown }).code === 'WARRANT_HOT_STATE_UNAVAILABLE'
            ? 'Is Redis (redis.url) running? With gateway.replayCache: redis the gateway needs it to start.'
            : `Is the STS at ${issuer} running?`,
        { cause: error },
      );
    }
    io.out(
      `warrant gateway listening on ${running.url} (issuer: ${issuer}, routes: ${config.gateway.routes.length})\n`,
    );
    const signal = await waitForSignal(() => {
      void (async () => {
        try {
          const next = await loadCliConfig(file, overrides);
          running.reload(next);
          io.err(`reloaded: ${next.gateway.routes.length} routes\n`);
          if (config.gateway.tls)
            io.err(
              running.replica.reloadTls()
                ? 'reloaded: TLS certificate\n'
                : 'TLS certificate reload failed, keeping the running one\n',
            );
        } catch (error) {
          io.err(`reload failed, keeping the running configuration: ${(error as Error).message}\n`);
        }
      })();
    });
    await running.close();
    io.err(`warrant gateway stopped (${signal})\n`);
    return EXIT.ok;
  },
};
