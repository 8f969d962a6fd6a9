import { ADMIN_OPTIONS, adminClient, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import { readPublicKeyFile } from '../../public-key-file.ts';
import { type AgentView, describeAgent, intFlag, stringFlag } from './shared.ts';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** `--client-id ISSUER=CLIENT_ID` (repeatable): split at the first `=`, the issuer an http(s) URL. */
export function clientIdFlags(values: unknown): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const clientIds: Record<string, string> = {};
  for (const value of values as readonly string[]) {
    const eq = value.indexOf('=');
    const issuer = eq < 0 ? '' : value.slice(0, eq);
    const clientId = eq < 0 ? '' : value.slice(eq + 1);
    if (!/^https?:\/\/\S+$/.test(issuer) || clientId === '')
      throw new UsageError(
        '--client-id expects ISSUER=CLIENT_ID, e.g. https://accounts.example.org=planner-app',
      );
    if (Object.hasOwn(clientIds, issuer)) throw new UsageError(`--client-id names ${issuer} twice`);
    clientIds[issuer] = clientId;
  }
  return clientIds;
}

export const agentAdd: Command = {
  name: 'agent add',
  summary: 'register an agent with its public key',
  description:
    'Registers an agent with the STS: its name, owner, trust tier and the public key it authenticates\n' +
    'with, and its client id at each OpenID provider whose persons may delegate to it (--client-id: a\n' +
    "person's ID token roots a warrant only for the agent it is addressed to). --public-key takes the\n" +
    'public JWK printed by `warrant keygen`, or the private key file that `warrant keygen --out` wrote:\n' +
    'only the public members are sent, never the private key. The agent gets the SPIFFE ID\n' +
    'spiffe://<trust domain>/agent/<name>.',
  options: {
    'public-key': {
      type: 'string',
      value: 'file',
      description: 'the agent key: a public JWK, or the private JWK from `warrant keygen --out` (required)',
    },
    owner: { type: 'string', value: 'owner', description: 'the person or team answerable for it (required)' },
    tier: {
      type: 'string',
      value: 'tier',
      description: 'trust tier, e.g. planner or executor (default executor)',
    },
    'trust-level': { type: 'string', value: 'n', description: 'trust level 0..10 (default 0)' },
    audience: {
      type: 'string',
      value: 'pattern',
      multiple: true,
      description: 'an audience it may get warrants for (default spiffe://<trust domain>/*)',
    },
    'max-depth': { type: 'string', value: 'n', description: 'longest delegation chain below it, 0..32' },
    'client-id': {
      type: 'string',
      value: 'issuer=id',
      multiple: true,
      description:
        "its client id at an OpenID provider: persons' ID tokens addressed to it root warrants for this agent",
    },
    ...ADMIN_OPTIONS,
    json: JSON_OPTION,
  },
  positional: { name: '<name>', description: 'lowercase letters, digits and dashes (1..63)', required: true },
  examples: [
    'warrant keygen --out planner.jwk && warrant agent add planner --public-key planner.jwk --owner alice@example.org --tier planner',
    'warrant agent add crm-reader --public-key crm.pub.jwk --owner ops --audience "https://tools.example.org/*"',
    'warrant agent add planner --public-key planner.jwk --owner alice@example.org --client-id https://accounts.example.org=planner-app',
  ],
  async run(args, io) {
    const name = args.positionals[0]!;
    if (!NAME.test(name)) throw new UsageError('<name> must be lowercase letters, digits and dashes (1..63)');
    const keyFile = stringFlag(args, 'public-key');
    if (keyFile === undefined) throw new UsageError('--public-key <file> is required');
    const owner = stringFlag(args, 'owner');
    if (owner === undefined) throw new UsageError('--owner <owner> is required');
    const tier = stringFlag(args, 'tier');
    const trustLevel = intFlag(args.values['trust-level'], '--trust-level', 0, 10);
    const maxDepth = intFlag(args.values['max-depth'], '--max-depth', 0, 32);
    const audiences = args.values['audience'] as readonly string[] | undefined;
    if (audiences?.some((a) => a === '')) throw new UsageError('--audience expects a pattern');
    const clientIds = clientIdFlags(args.values['client-id']);
    const key = readPublicKeyFile(keyFile);
    const client = adminClient(args, io);
    const agent = await client.request<AgentView>('POST', '/agents', {
      name,
      owner,
      publicJwk: key.jwk,
      ...(tier === undefined ? {} : { tier }),
      ...(trustLevel === undefined ? {} : { trustLevel }),
      ...(maxDepth === undefined ? {} : { maxDepth }),
      ...(audiences === undefined ? {} : { allowedAudiences: audiences }),
      ...(clientIds === undefined ? {} : { clientIds }),
    });
    if (args.values['json'] === true) printJson(io, agent);
    else {
      io.out(describeAgent(agent));
      io.err(
        `registered ${agent.id}${key.fromPrivate ? ' (sent the public half of the private key file only)' : ''}\n`,
      );
    }
    return EXIT.ok;
  },
};
