import {
  ADMIN_OPTIONS,
  type AdminClient,
  adminClient,
  agentPath,
  JSON_OPTION,
  printJson,
} from '../admin-client.ts';
import { type Command, EXIT, type Io, type ParsedArgs, UsageError } from '../command.ts';
import { readPublicKeyFile } from '../public-key-file.ts';

/** What the admin API answers for an agent (src/sts/admin.ts `agentView`). */
export interface AgentView {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly tier: string;
  readonly trustLevel: number;
  readonly allowedAudiences: readonly string[];
  readonly maxDepth: number;
  readonly status: 'active' | 'disabled';
  readonly publicJwk: Record<string, unknown>;
  readonly jkt: string;
  readonly previousKeys: readonly { readonly jkt: string; readonly until: number }[];
  /** The agent's client id at each OpenID provider (issuer → client id). */
  readonly clientIds: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const AGENT_REF = {
  name: '<name|id>',
  description: 'the agent name (planner) or its SPIFFE ID',
  required: true,
} as const;

/** An integer flag in `min..max`, or a usage error naming the flag. */
export function intFlag(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} expects an integer from ${min} to ${max}`);
  }
  return Number(value);
}

function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} expects a value`);
  return value;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

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

function describeAgent(a: AgentView): string {
  const lines = [
    `name        ${a.name}`,
    `id          ${a.id}`,
    `status      ${a.status}`,
    `owner       ${a.owner}`,
    `tier        ${a.tier}`,
    `trust level ${a.trustLevel}`,
    `max depth   ${a.maxDepth}`,
    `audiences   ${a.allowedAudiences.length === 0 ? '(none)' : a.allowedAudiences.join(', ')}`,
    `key (jkt)   ${a.jkt}`,
  ];
  for (const k of a.previousKeys) lines.push(`previous    ${k.jkt} (accepted until ${iso(k.until)})`);
  const clientIds = Object.entries(a.clientIds ?? {});
  if (clientIds.length === 0) lines.push('client ids  (none: no person ID token can root a warrant for it)');
  for (const [issuer, clientId] of clientIds) lines.push(`client id   ${clientId} at ${issuer}`);
  lines.push(`created     ${iso(a.createdAt)}`, `updated     ${iso(a.updatedAt)}`);
  return `${lines.join('\n')}\n`;
}

async function agentAction(
  args: ParsedArgs,
  io: Io,
  action: 'disable' | 'enable',
): Promise<{ client: AdminClient; result: { agent: AgentView; revoked: number } }> {
  const client = adminClient(args, io);
  const result = await client.request<{ agent: AgentView; revoked: number }>(
    'POST',
    agentPath(args.positionals[0]!, action),
  );
  return { client, result };
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

export const agentList: Command = {
  name: 'agent list',
  summary: 'list registered agents',
  description:
    'Lists the registered agents, oldest first, one page at a time (--limit, default 100). When more\n' +
    'agents follow, the cursor for the next page is printed to standard error (pass it with --after).',
  options: {
    status: { type: 'string', value: 'active|disabled', description: 'only agents with this status' },
    limit: { type: 'string', value: 'n', description: 'at most this many agents, 1..1000 (default 100)' },
    after: { type: 'string', value: 'cursor', description: 'the cursor of the previous page' },
    ...ADMIN_OPTIONS,
    json: { type: 'boolean', description: 'print {items, next} as JSON' },
  },
  examples: ['warrant agent list', 'warrant agent list --status disabled --json'],
  async run(args, io) {
    const status = stringFlag(args, 'status');
    if (status !== undefined && status !== 'active' && status !== 'disabled') {
      throw new UsageError('--status expects active or disabled');
    }
    const limit = intFlag(args.values['limit'], '--limit', 1, 1000);
    const after = stringFlag(args, 'after');
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (status !== undefined) query.set('status', status);
    if (after !== undefined) query.set('after', after);
    const client = adminClient(args, io);
    const page = await client.request<{ items: AgentView[]; next: string | null }>(
      'GET',
      `/agents${query.size > 0 ? `?${query}` : ''}`,
    );
    if (args.values['json'] === true) {
      printJson(io, page);
      return EXIT.ok;
    }
    if (page.items.length === 0) io.err('no agents registered yet (add one with `warrant agent add`)\n');
    else io.out(table(page.items));
    if (page.next) io.err(`more agents follow: run again with --after ${page.next}\n`);
    return EXIT.ok;
  },
};

function table(agents: readonly AgentView[]): string {
  const head = ['NAME', 'STATUS', 'TIER', 'TRUST', 'OWNER', 'ID'];
  const rows = agents.map((a) => [a.name, a.status, a.tier, String(a.trustLevel), a.owner, a.id]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[head, ...rows].map(line).join('\n')}\n`;
}

export const agentShow: Command = {
  name: 'agent show',
  summary: 'show one agent',
  description:
    'Shows one registered agent: status, owner, tier, audiences, current and previous key thumbprints,\n' +
    'and its client ids at OpenID providers.',
  options: { ...ADMIN_OPTIONS, json: JSON_OPTION },
  positional: AGENT_REF,
  examples: ['warrant agent show planner', 'warrant agent show spiffe://warrant.local/agent/planner --json'],
  async run(args, io) {
    const client = adminClient(args, io);
    const agent = await client.request<AgentView>('GET', agentPath(args.positionals[0]!));
    if (args.values['json'] === true) printJson(io, agent);
    else io.out(describeAgent(agent));
    return EXIT.ok;
  },
};

export const agentDisable: Command = {
  name: 'agent disable',
  summary: 'disable an agent and revoke every token it holds or passed on',
  description:
    'Disables an agent: it gets no new token, and every live token it holds or passed on (and their\n' +
    'descendants) is revoked. `warrant agent enable` lets it authenticate again (revoked tokens stay revoked).',
  options: { ...ADMIN_OPTIONS, json: { type: 'boolean', description: 'print {agent, revoked} as JSON' } },
  positional: AGENT_REF,
  examples: ['warrant agent disable planner'],
  async run(args, io) {
    const { result } = await agentAction(args, io, 'disable');
    if (args.values['json'] === true) printJson(io, result);
    else io.out(`disabled ${result.agent.id}; revoked ${result.revoked} token(s)\n`);
    return EXIT.ok;
  },
};

export const agentEnable: Command = {
  name: 'agent enable',
  summary: 'enable a disabled agent',
  description: 'Enables a disabled agent again. Tokens revoked when it was disabled stay revoked.',
  options: { ...ADMIN_OPTIONS, json: { type: 'boolean', description: 'print {agent, revoked} as JSON' } },
  positional: AGENT_REF,
  examples: ['warrant agent enable planner'],
  async run(args, io) {
    const { result } = await agentAction(args, io, 'enable');
    if (args.values['json'] === true) printJson(io, result);
    else io.out(`enabled ${result.agent.id}\n`);
    return EXIT.ok;
  },
};

export const agentRotateKey: Command = {
  name: 'agent rotate-key',
  summary: "replace an agent's key (the old one stays valid for --overlap)",
  description:
    'Replaces the public key of an agent. The old key keeps authenticating for --overlap seconds (default:\n' +
    'the identity token lifetime of the STS), so the agent can switch without downtime. --public-key takes a\n' +
    'public JWK or the private key file from `warrant keygen --out` (only the public half is sent).',
  options: {
    'public-key': { type: 'string', value: 'file', description: 'the new key (required)' },
    overlap: { type: 'string', value: 'seconds', description: 'how long the old key stays valid, 0..86400' },
    ...ADMIN_OPTIONS,
    json: JSON_OPTION,
  },
  positional: AGENT_REF,
  examples: [
    'warrant keygen --out planner-2.jwk && warrant agent rotate-key planner --public-key planner-2.jwk --overlap 600',
  ],
  async run(args, io) {
    const keyFile = stringFlag(args, 'public-key');
    if (keyFile === undefined) throw new UsageError('--public-key <file> is required');
    const overlap = intFlag(args.values['overlap'], '--overlap', 0, 86_400);
    const key = readPublicKeyFile(keyFile);
    const client = adminClient(args, io);
    const agent = await client.request<AgentView>('POST', agentPath(args.positionals[0]!, 'rotate-key'), {
      publicJwk: key.jwk,
      ...(overlap === undefined ? {} : { overlapSeconds: overlap }),
    });
    if (args.values['json'] === true) printJson(io, agent);
    else {
      const previous = agent.previousKeys.at(-1);
      io.out(
        `rotated the key of ${agent.id}\n` +
          `new key (jkt)  ${agent.jkt}\n` +
          (previous ? `old key (jkt)  ${previous.jkt}, accepted until ${iso(previous.until)}\n` : ''),
      );
    }
    return EXIT.ok;
  },
};

export const agentCommands: readonly Command[] = [
  agentAdd,
  agentList,
  agentShow,
  agentDisable,
  agentEnable,
  agentRotateKey,
];
