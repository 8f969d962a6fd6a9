import { renderStatement } from '../../../guard/autonomy/render.ts';
import type { AutonomyStatement } from '../../../guard/autonomy/statement.ts';
import { ADMIN_OPTIONS, adminClient, agentPath, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { AGENT_REF } from './shared.ts';

export const agentAutonomy: Command = {
  name: 'agent autonomy',
  summary: "show an agent's autonomy statement",
  description:
    'Shows what an agent may do alone, what it must ask a person first, what it may never do, and what\n' +
    'it does under uncertainty — generated from the action catalog, the action policy, its trust level,\n' +
    'the bounds and the budgets (docs/guard.md, Autonomy statement). The gateway writes each new version\n' +
    'to the ledger; the digest names the version.',
  options: { ...ADMIN_OPTIONS, json: JSON_OPTION },
  positional: AGENT_REF,
  examples: [
    'warrant agent autonomy planner',
    'warrant agent autonomy spiffe://warrant.local/agent/planner --json',
  ],
  async run(args, io) {
    const client = adminClient(args, io);
    const answer = await client.request<{ digest: string; statement: AutonomyStatement }>(
      'GET',
      agentPath(args.positionals[0]!, 'autonomy'),
    );
    if (args.values['json'] === true) printJson(io, answer);
    else io.out(renderStatement(answer.statement, answer.digest));
    return EXIT.ok;
  },
};
