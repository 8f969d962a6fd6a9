import { ADMIN_OPTIONS, adminClient, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { type BudgetView, budgetPath, describeBudget } from './shared.ts';

export const budgetShow: Command = {
  name: 'budget show',
  summary: 'show the budgets, their limits and what each agent, person or txn spent',
  description:
    'Shows the budgets of the guard (guard.budgets): what each counts (money from an action parameter,\n' +
    'calls, LLM tokens) per agent, person or txn, in total or per day; the limit in force (an operator\n' +
    'override, else the configured one); and what each key has spent. With a name, that budget only.',
  options: { ...ADMIN_OPTIONS, json: JSON_OPTION },
  positional: { name: '<name>', description: 'one budget (default: every budget)', required: false },
  examples: ['warrant budget show', 'warrant budget show payments-per-agent --json'],
  async run(args, io) {
    const client = adminClient(args, io);
    const name = args.positionals[0];
    const budgets =
      name === undefined
        ? (await client.request<{ items: BudgetView[] }>('GET', '/budgets')).items
        : [await client.request<BudgetView>('GET', budgetPath(name))];
    if (args.values['json'] === true) printJson(io, name === undefined ? { items: budgets } : budgets[0]);
    else if (budgets.length === 0) io.out('no budgets are configured (guard.budgets)\n');
    else io.out(budgets.map(describeBudget).join('\n'));
    return EXIT.ok;
  },
};
