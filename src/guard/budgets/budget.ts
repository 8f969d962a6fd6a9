/**
 * A budget (DESIGN §6, `guard.budgets`): a cumulative cap on a counted quantity — money from an action's
 * parameter, calls, or LLM tokens — over a scope (the calling agent, the root person, one `txn`), in total
 * or per calendar day (UTC). Each scope value of a budget has its own spent amount, under a key.
 */
import type { BudgetConfig } from '../../config/types.ts';
import { patternMatches } from '../../core/grants/index.ts';

export type Budget = BudgetConfig;

/** Who a call is counted for: the calling agent, the root person, the transaction. */
export interface BudgetSubject {
  readonly agent: string;
  readonly person: { readonly sub: string; readonly iss: string };
  readonly txn: string;
}

/** The budgets a catalog action counts against, in configuration order. */
export function budgetsOf(budgets: readonly Budget[], action: string): Budget[] {
  return budgets.filter((b) => b.actions.some((pattern) => patternMatches(pattern, action)));
}

/** The calendar day (UTC) of an epoch second, `YYYY-MM-DD`. */
export function dayOf(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 10);
}

/**
 * The key a call's spending is kept under for `budget`: `agent:<id>`, `person:["<iss>","<sub>"]` (JSON:
 * an issuer or subject holding any separator cannot make two persons one) or `txn:<txn>`, and for a
 * daily budget `@<YYYY-MM-DD>` (UTC) after it: a fixed-length suffix, so keys of one budget never collide.
 */
export function scopeKey(budget: Budget, who: BudgetSubject, now: number): string {
  let key: string;
  switch (budget.scope) {
    case 'agent':
      key = `agent:${who.agent}`;
      break;
    case 'person':
      key = `person:${JSON.stringify([who.person.iss, who.person.sub])}`;
      break;
    case 'txn':
      key = `txn:${who.txn}`;
      break;
  }
  return budget.period === 'day' ? `${key}@${dayOf(now)}` : key;
}

/** What a budget counts, in words (for reasons and listings). */
export function quantityName(budget: Budget): string {
  return typeof budget.quantity === 'string' ? budget.quantity : budget.quantity.parameter;
}
