import { ADMIN_OPTIONS, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { AGENT_REF, agentAction } from './shared.ts';

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
