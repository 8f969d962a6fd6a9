import { ADMIN_OPTIONS, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { AGENT_REF, agentAction } from './shared.ts';

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
