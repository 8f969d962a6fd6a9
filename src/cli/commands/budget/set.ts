import { ADMIN_OPTIONS, adminClient, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import { type BudgetView, budgetPath, describeBudget } from './shared.ts';

/** A plain decimal limit: digits, an optional fraction (no sign, exponent or spaces). */
const LIMIT = /^(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,6})?$/;

export const budgetSet: Command = {
  name: 'budget set',
  summary: 'override the limit of a budget (with a reason)',
  description:
    "Sets a budget's limit over the configured one, at once for every gateway (they read the limit in\n" +
    'force from the guard store on each reservation). The change is durable and recorded in the guard\n' +
    'change history with the reason. Spent amounts are kept: raising the limit lets calls through again.',
  options: {
    reason: { type: 'string', value: 'text', description: 'why (required; kept in the change history)' },
    ...ADMIN_OPTIONS,
    json: JSON_OPTION,
  },
  positional: {
    name: '<name> <limit>',
    description: 'the budget and its new limit',
    required: true,
    count: 2,
  },
  examples: [
    'warrant budget set payments-per-agent 1000 --reason "month-end supplier run"',
    'warrant budget set llm-tokens-per-person 200000 --reason "raised for the migration" --json',
  ],
  async run(args, io) {
    const [name, limit] = args.positionals as [string, string];
    if (!LIMIT.test(limit))
      throw new UsageError('<limit> expects a plain decimal number, e.g. 1000 or 250.50');
    const reason = args.values['reason'];
    if (typeof reason !== 'string' || reason === '') throw new UsageError('--reason is required');
    const client = adminClient(args, io);
    const budget = await client.request<BudgetView & { change: number }>('PUT', budgetPath(name), {
      limit: Number(limit),
      reason,
    });
    if (args.values['json'] === true) printJson(io, budget);
    else io.out(describeBudget(budget));
    return EXIT.ok;
  },
};
