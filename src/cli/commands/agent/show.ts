import { ADMIN_OPTIONS, adminClient, agentPath, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { AGENT_REF, type AgentView, describeAgent, describeTrust, type TrustView } from './shared.ts';

export const agentShow: Command = {
  name: 'agent show',
  summary: 'show one agent',
  description:
    'Shows one registered agent: status, owner, tier, audiences, current and previous key thumbprints,\n' +
    'its client ids at OpenID providers, and its standing at the gateway: its trust level (progressive\n' +
    'trust), its record since the level last changed, and the recent changes with their reasons.',
  options: { ...ADMIN_OPTIONS, json: JSON_OPTION },
  positional: AGENT_REF,
  examples: ['warrant agent show planner', 'warrant agent show spiffe://warrant.local/agent/planner --json'],
  async run(args, io) {
    const client = adminClient(args, io);
    const agent = await client.request<AgentView>('GET', agentPath(args.positionals[0]!));
    const trust = await client.request<TrustView>('GET', agentPath(agent.id, 'trust'));
    if (args.values['json'] === true) printJson(io, { ...agent, trust });
    else io.out(describeAgent(agent) + describeTrust(trust));
    return EXIT.ok;
  },
};
