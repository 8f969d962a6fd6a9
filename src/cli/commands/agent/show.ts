import { ADMIN_OPTIONS, adminClient, agentPath, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { AGENT_REF, type AgentView, describeAgent } from './shared.ts';

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
