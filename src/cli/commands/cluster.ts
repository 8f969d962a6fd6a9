import { CliError, type Command, EXIT, UsageError } from '../command.ts';
import { REQUIRED_CONFIG_OPTION } from '../config-file.ts';
import { waitForSignal } from './wait-for-signal.ts';

export const clusterUp: Command = {
  name: 'cluster up',
  summary: 'a local cluster: N control planes and N gateways on one PostgreSQL and one Redis',
  description:
    'Starts, on this machine, --replicas control planes (`warrant serve`) and as many gateways\n' +
    '(`warrant gateway`) as child processes, all reading the one configuration file, each on its own\n' +
    'loopback port; in front of each plane a TCP balancer listens on the configured address (sts.listen,\n' +
    'gateway.listen), as a Kubernetes Service would. The file must name PostgreSQL (store.kind: postgres),\n' +
    'redis, ledger.mode: replicated, gateway.replayCache: redis, sts.issuer and gateway.issuer (the\n' +
    'control planes’ front) and gateway.publicUrl (the gateways’ front). Prints every address; a replica\n' +
    'that exits is started again on the same address. Ctrl-C or SIGTERM stops every child it started.\n' +
    'For trying scale-out and for the fault tests; in production run the replicas under an orchestrator\n' +
    '(docs/deployment.md).',
  options: {
    ...REQUIRED_CONFIG_OPTION,
    replicas: {
      type: 'string',
      value: 'n',
      description: 'replicas of each plane, 1 to 16 (default 2)',
    },
    quiet: { type: 'boolean', description: 'do not copy the replicas’ log lines to standard output' },
  },
  examples: [
    'WARRANT_ADMIN_TOKEN=$(openssl rand -hex 32) warrant cluster up --config deploy/cluster.example.yaml',
  ],
  async run({ values }, io) {
    const file = values['config'] as string | undefined;
    if (!file) throw new UsageError('cluster up needs --config <file> (see deploy/cluster.example.yaml)');
    const replicas = values['replicas'] === undefined ? 2 : Number(values['replicas']);
    if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 16)
      throw new UsageError('--replicas takes a number from 1 to 16');
    const { startCluster } = await import('../../cluster/launcher.ts');
    let cluster: Awaited<ReturnType<typeof startCluster>>;
    try {
      cluster = await startCluster({
        configFile: file,
        replicas,
        onEvent: (message) => io.err(`cluster: ${message}\n`),
        ...(values['quiet'] ? {} : { onLine: (name, _stream, line) => io.out(`[${name}] ${line}\n`) }),
      });
    } catch (error) {
      throw new CliError(
        `cannot start the cluster: ${(error as Error).message}`,
        'Check PostgreSQL (store.url) and Redis (redis.url), and `warrant config validate` the file.',
        { cause: error },
      );
    }
    // Listen for the signal before saying the cluster is up: whoever reads the line may stop it at once,
    // and a SIGTERM arriving before the listener would end this process without stopping its children.
    const signalled = waitForSignal();
    io.err(
      `cluster up: control planes at ${cluster.stsUrl} (issuer), gateways at ${cluster.gatewayUrl}\n` +
        cluster.members.map((m) => `  ${m.name} ${m.role} ${m.url} pid ${m.pid}\n`).join(''),
    );
    const signal = await signalled;
    io.err(`cluster: stopping (${signal})\n`);
    await cluster.stop();
    io.err('cluster: stopped\n');
    return EXIT.ok;
  },
};
