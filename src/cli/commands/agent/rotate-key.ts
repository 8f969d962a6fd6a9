import { ADMIN_OPTIONS, adminClient, agentPath, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import { readPublicKeyFile } from '../../public-key-file.ts';
import { AGENT_REF, type AgentView, intFlag, iso, stringFlag } from './shared.ts';

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
