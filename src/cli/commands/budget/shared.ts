// What the `warrant budget` subcommands share: the admin API's view of a budget and how it is printed.

/** What `GET /admin/budgets` answers for a budget (src/guard/admin/budgets.ts). */
export interface BudgetView {
  readonly name: string;
  readonly scope: 'agent' | 'person' | 'txn';
  readonly period: 'total' | 'day';
  readonly quantity: 'calls' | 'llm_tokens' | { readonly parameter: string };
  readonly actions: readonly string[];
  readonly onExceed: 'deny' | 'approval';
  readonly configuredLimit: number;
  readonly limit: number;
  readonly override?: {
    readonly limit: number;
    readonly time: number;
    readonly actor: string;
    readonly reason: string;
  };
  readonly spent: readonly { readonly key: string; readonly spent: number; readonly updated: number }[];
}

/** `/budgets/<name>`, the name escaped. */
export const budgetPath = (name: string): string => `/budgets/${encodeURIComponent(name)}`;

/** A budget as `budget show` and `budget set` print it: what it counts, its limit, who spent what. */
export function describeBudget(b: BudgetView): string {
  const quantity = typeof b.quantity === 'string' ? b.quantity : `parameter ${b.quantity.parameter}`;
  const lines = [
    `${b.name}`,
    `  counts     ${quantity} per ${b.scope}${b.period === 'day' ? ', per calendar day (UTC)' : ''}`,
    `  actions    ${b.actions.join(', ')}`,
    `  limit      ${b.limit}${b.override ? ` (configured ${b.configuredLimit}; set by ${b.override.actor} at ${new Date(b.override.time * 1000).toISOString()}: ${b.override.reason})` : ''}`,
    `  past it    ${b.onExceed === 'approval' ? 'approval required' : 'refused'}`,
  ];
  if (b.spent.length === 0) lines.push('  spent      nothing yet');
  for (const s of b.spent) lines.push(`  spent      ${s.spent} of ${b.limit}  ${s.key}`);
  return `${lines.join('\n')}\n`;
}
