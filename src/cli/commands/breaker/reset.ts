import { ADMIN_OPTIONS, adminClient, printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';

export const breakerReset: Command = {
  name: 'breaker reset',
  summary: 'close a circuit breaker (recorded with its reason)',
  description:
    'Closes a circuit breaker at every gateway: its open state and its window counts are cleared, and the\n' +
    'reset is recorded in the guard history with --reason. A txn breaker tripped by a novel combination of\n' +
    'systems learns that combination for its agent. The key is as `warrant breaker list` prints it (quote\n' +
    'destination keys: they hold a space).',
  options: {
    reason: { type: 'string', value: 'text', description: 'why (recorded; default "reset by an operator")' },
    ...ADMIN_OPTIONS,
    json: { type: 'boolean', description: 'print {key, reset, wasOpen} as JSON' },
  },
  positional: {
    name: '<key>',
    description: 'agent:<agent id>, txn:<txn> or "destination:<agent id> <audience>"',
    required: true,
  },
  examples: [
    'warrant breaker reset agent:spiffe://warrant.local/agent/planner --reason "loop fixed in v1.4"',
    'warrant breaker reset txn:2f0c9a3e-6c1b-4a7e-9d0f-1b2c3d4e5f60',
    'warrant breaker reset "destination:spiffe://warrant.local/agent/planner https://crm.example.org"',
  ],
  async run(args, io) {
    const key = args.positionals[0]!;
    const reason = args.values['reason'];
    if (reason !== undefined && (typeof reason !== 'string' || reason.length === 0))
      throw new UsageError('--reason expects some text');
    const result = await adminClient(args, io).request<{ key: string; wasOpen: boolean }>(
      'POST',
      '/breakers/reset',
      { key, ...(reason === undefined ? {} : { reason }) },
    );
    if (args.values['json'] === true) printJson(io, result);
    else io.out(`reset ${result.key}${result.wasOpen ? '' : ' (it was not open)'}\n`);
    return EXIT.ok;
  },
};
