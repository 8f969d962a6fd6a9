import { readFileSync } from 'node:fs';
import { CliError, type Command, EXIT, UsageError } from '../../command.ts';
import { waitForSignal } from '../wait-for-signal.ts';

const SUBJECT_TYPES = { warrant: 'warrant', 'id-token': 'idToken', 'id-jag': 'idJag' } as const;

export const agentProxy: Command = {
  name: 'agent proxy',
  summary: "a local proxy that adds the agent's warrant and DPoP proof to every request",
  description:
    'Runs a forward proxy beside an agent: it holds the agent key and a token pool, and sends every request\n' +
    'it receives on to the gateway with a pooled warrant for the route (the audience comes from the\n' +
    "gateway's RFC 9728 metadata, or --audience) and a fresh DPoP proof, answering use_dpop_nonce and\n" +
    'replacing a revoked pooled warrant once. Stock MCP, A2A and HTTP clients that cannot do DPoP point at\n' +
    'the proxy instead of the gateway and work unchanged; refusals and event streams come back untouched.\n' +
    'The pool exchanges from --subject (a file holding the warrant addressed to this agent, or a person\n' +
    'assertion with --subject-type; read again at every exchange, so it can be renewed in place), or from\n' +
    'WARRANT_SUBJECT. The key comes from --key or WARRANT_AGENT_KEY. It listens on 127.0.0.1 unless\n' +
    '--host names another loopback address; anything else needs --allow-remote, because whoever reaches\n' +
    "the proxy acts with this agent's authority. SIGINT/SIGTERM stop it.",
  options: {
    gateway: { type: 'string', value: 'url', description: "the gateway's public URL (required)" },
    issuer: { type: 'string', value: 'url', description: 'the STS issuer URL (required)' },
    'agent-id': {
      type: 'string',
      value: 'spiffe-id',
      description: "this agent's id, spiffe://<domain>/agent/<name> (required)",
    },
    key: { type: 'string', value: 'file', description: 'private JWK file (default: $WARRANT_AGENT_KEY)' },
    subject: {
      type: 'string',
      value: 'file',
      description: 'file with the token the pool exchanges from (default: $WARRANT_SUBJECT)',
    },
    'subject-type': {
      type: 'string',
      value: 'warrant|id-token|id-jag',
      description: 'what --subject holds (default warrant)',
    },
    audience: {
      type: 'string',
      value: 'uri',
      description: 'one audience for every path (default: per route)',
    },
    host: { type: 'string', value: 'address', description: 'listen address (default 127.0.0.1)' },
    port: { type: 'string', value: 'n', description: 'listen port (default 8090; 0: any free port)' },
    'allow-remote': { type: 'boolean', description: 'allow a non-loopback listen address' },
    'expiry-only': {
      type: 'boolean',
      description: "check pooled warrants' expiry only, not the STS's revocation status",
    },
  },
  examples: [
    'warrant agent proxy --gateway http://127.0.0.1:8081 --issuer http://127.0.0.1:8080 \\\n' +
      '    --agent-id spiffe://warrant.local/agent/research --key research.jwk --subject task-warrant.txt',
    '# then point a stock MCP client at http://127.0.0.1:8090/mcp',
  ],
  async run({ values }, io) {
    const need = (name: string): string => {
      const value = values[name];
      if (typeof value !== 'string' || value === '') throw new UsageError(`agent proxy needs --${name}`);
      return value;
    };
    const gateway = need('gateway');
    const issuer = need('issuer');
    const agentId = need('agent-id');
    const host = (values['host'] as string | undefined) ?? '127.0.0.1';
    const portText = (values['port'] as string | undefined) ?? '8090';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port: not a port: ${portText}`);
    const subjectKind = (values['subject-type'] as string | undefined) ?? 'warrant';
    if (!(subjectKind in SUBJECT_TYPES))
      throw new UsageError(`--subject-type: expected warrant, id-token or id-jag, not ${subjectKind}`);
    const { isLoopback, startAgentProxy } = await import('../../../sdk/proxy/agent-proxy.ts');
    if (!isLoopback(host) && values['allow-remote'] !== true)
      throw new UsageError(
        `refusing to listen on ${host}: whoever reaches the proxy acts with this agent's authority; ` +
          'use a loopback address, or --allow-remote',
      );
    const subjectFile = values['subject'] as string | undefined;
    if (subjectFile === undefined && !io.env['WARRANT_SUBJECT'])
      throw new UsageError('agent proxy needs --subject <file> or WARRANT_SUBJECT');
    const { createAgent, TOKEN_TYPES } = await import('../../../sdk/index.ts');
    const type = TOKEN_TYPES[SUBJECT_TYPES[subjectKind as keyof typeof SUBJECT_TYPES]];
    const subject = () => {
      const token =
        subjectFile === undefined ? io.env['WARRANT_SUBJECT']! : readFileSync(subjectFile, 'utf8');
      return { token: token.trim(), type };
    };
    subject(); // an unreadable subject file fails now, not at the first request
    const keyFile = values['key'] as string | undefined;
    let agent: Awaited<ReturnType<typeof createAgent>>;
    try {
      agent = await createAgent({
        issuer,
        agentId,
        key: keyFile === undefined ? {} : { file: keyFile },
        subject,
        revocation: values['expiry-only'] !== true,
      });
    } catch (error) {
      throw new CliError(
        `cannot start the agent proxy: ${(error as Error).message}`,
        `Is the STS at ${issuer} running, and the key in ${keyFile ?? '$WARRANT_AGENT_KEY'} this agent's?`,
        { cause: error },
      );
    }
    const audience = values['audience'] as string | undefined;
    const running = await startAgentProxy({
      gateway,
      pool: agent.pool,
      host,
      port,
      allowRemote: values['allow-remote'] === true,
      ...(audience === undefined ? {} : { audience }),
    }).catch((error: unknown) => {
      agent.close();
      throw new CliError(
        `cannot listen on ${host}:${port}: ${(error as Error).message}`,
        'Pick another --port.',
      );
    });
    io.out(`warrant agent proxy listening on ${running.url} (agent: ${agentId}, gateway: ${gateway})\n`);
    const signal = await waitForSignal();
    await running.close();
    agent.close();
    io.err(`warrant agent proxy stopped (${signal})\n`);
    return EXIT.ok;
  },
};
