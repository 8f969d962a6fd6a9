import { ADMIN_OPTIONS, adminClient, agentPath, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import { AGENT_REF, describeTrust, intFlag, stringFlag, type TrustView } from './shared.ts';

export const agentTrust: Command = {
  name: 'agent trust',
  summary: "set or pin an agent's trust level",
  description:
    "Sets an agent's trust level at the gateway (progressive trust, docs/guard.md) and pins it there, so\n" +
    'no promotion or demotion moves it; --unpin lets it move again by its record (with --level: from that\n' +
    'level). Every change is recorded with the reason and shown by `warrant agent show`. Without --level\n' +
    'and --unpin, shows the standing.',
  options: {
    ...ADMIN_OPTIONS,
    level: { type: 'string', value: 'n', description: 'the level to set (0..the configured highest level)' },
    unpin: { type: 'boolean', description: 'let the level move by its record again' },
    reason: { type: 'string', value: 'text', description: 'why (required for a change; recorded)' },
    json: JSON_OPTION,
  },
  positional: AGENT_REF,
  examples: [
    'warrant agent trust planner',
    'warrant agent trust planner --level 0 --reason "incident 2026-12-07: wrong refunds"',
    'warrant agent trust planner --unpin --reason "incident closed"',
    'warrant agent trust planner --level 2 --unpin --reason "known good, let it earn the rest" --json',
  ],
  async run(args, io) {
    const client = adminClient(args, io);
    const path = agentPath(args.positionals[0]!, 'trust');
    const level = intFlag(args.values['level'], '--level', 0, 10);
    const unpin = args.values['unpin'] === true;
    if (level === undefined && !unpin) {
      const view = await client.request<TrustView>('GET', path);
      if (args.values['json'] === true) printJson(io, view);
      else io.out(describeTrust(view, 20));
      return EXIT.ok;
    }
    const reason = stringFlag(args, 'reason');
    if (reason === undefined) throw new UsageError('--reason is required to change a trust level');
    const result = await client.request<{ changed: boolean; trust: TrustView }>('POST', path, {
      ...(level === undefined ? {} : { level }),
      pin: !unpin,
      reason,
    });
    if (args.values['json'] === true) printJson(io, result);
    else io.out(`${result.changed ? 'changed' : 'unchanged'}\n${describeTrust(result.trust)}`);
    return EXIT.ok;
  },
};
