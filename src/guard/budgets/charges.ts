/**
 * What one request counts against the budgets (DESIGN §6): for each action call, each budget of its
 * action, the quantity — 1 for `calls`, the number the action's catalog parameter holds for
 * `{parameter}`, nothing yet for `llm_tokens` (counted once the upstream reports its usage) — summed per
 * budget and scope key. A call a budget cannot count is refused: its parameter absent, unreadable or not
 * located by the catalog, a streamed LLM call that does not ask for its usage.
 */
import type { ErrorCode } from '../../core/errors.ts';
import { asNumber } from '../../gateway/check-constraints.ts';
import type { ParameterReader } from '../../gateway/read-parameters.ts';
import type { CallDescriptor, CatalogEntry } from '../catalog.ts';
import type { GuardView } from '../check-call.ts';
import { type Budget, type BudgetSubject, scopeKey } from './budget.ts';
import type { Charge, ChargeState } from './budget-store.ts';
import type { UsageMeter } from './llm-usage.ts';

/** The budgets of one request, as the gateway carries them from the check to the observer. */
export interface BudgetCharges {
  /** Every charge of the request (`reserve` ones were reserved when `states` is set). */
  readonly charges: readonly Charge[];
  /** Each budget's state for the decision record (after the reservation, or at the refusal). */
  states: readonly ChargeState[];
  /** Whether the `reserve` charges are held in the store (to give back if the call is not carried out). */
  reserved: boolean;
  /** Reads the LLM usage of the answer, when an `llm_tokens` budget applies. */
  meter?: UsageMeter;
}

export type ChargesOf =
  | { readonly charges: Charge[] }
  | { readonly refusal: { readonly code: ErrorCode; readonly reason: string } };

export interface ChargeInput {
  readonly budgets: (action: string) => readonly Budget[];
  readonly view: GuardView;
  readonly reader: (call: CallDescriptor) => ParameterReader;
  readonly who: BudgetSubject;
  /** Epoch seconds (the day of daily budgets). */
  readonly now: number;
}

export function chargesOf(input: ChargeInput): ChargesOf {
  const byKey = new Map<string, Charge>();
  for (const guarded of input.view.calls) {
    if (guarded.kind !== 'action') continue;
    for (const budget of input.budgets(guarded.action.name)) {
      const counted = quantityOf(budget, guarded.action, guarded.call, input.reader);
      if ('refusal' in counted) return counted;
      if (counted.quantity === undefined) continue;
      const key = scopeKey(budget, input.who, input.now);
      const id = JSON.stringify([budget.name, key]);
      const before = byKey.get(id);
      byKey.set(id, {
        budget: budget.name,
        key,
        quantity: (before?.quantity ?? 0) + counted.quantity,
        limit: budget.limit,
        mode: budget.quantity === 'llm_tokens' ? 'check' : 'reserve',
      });
    }
  }
  return { charges: [...byKey.values()] };
}

type Counted =
  | { readonly quantity: number | undefined }
  | { readonly refusal: { readonly code: ErrorCode; readonly reason: string } };

/** What one call counts for `budget` (`undefined`: the budget does not count this call). */
function quantityOf(
  budget: Budget,
  action: CatalogEntry,
  call: CallDescriptor,
  reader: (call: CallDescriptor) => ParameterReader,
): Counted {
  const quantity = budget.quantity;
  if (quantity === 'calls') return { quantity: 1 };
  if (quantity === 'llm_tokens') {
    // Tokens are what an `openai` upstream reports; other protocols have no usage to count.
    if (call.protocol !== 'openai') return { quantity: undefined };
    if (streamsWithoutUsage(call.body))
      return unmetered(
        `budget ${budget.name} counts LLM tokens from the reported usage: a streamed call must ask for it (stream_options.include_usage: true)`,
      );
    return { quantity: 0 };
  }
  const parameter = action.compiled.get(quantity.parameter);
  if (parameter === undefined)
    return unmetered(
      `budget ${budget.name} counts ${quantity.parameter}, but the catalog does not say where ${action.name} carries it`,
    );
  // The catalog says this action carries no such value: nothing to count for it.
  if (parameter.in === 'none') return { quantity: undefined };
  const read = reader(call).read(parameter);
  const what = `parameter ${quantity.parameter} (budget ${budget.name})`;
  if ('missing' in read)
    return { refusal: { code: 'WARRANT_PARAMETER_MISSING', reason: `${what}: ${read.missing}` } };
  if ('invalid' in read)
    return { refusal: { code: 'WARRANT_PARAMETER_INVALID', reason: `${what}: ${read.invalid}` } };
  const n = asNumber(read);
  if (typeof n === 'string')
    return { refusal: { code: 'WARRANT_PARAMETER_INVALID', reason: `${what} ${n}` } };
  return { quantity: n };
}

function unmetered(reason: string): Counted {
  return { refusal: { code: 'WARRANT_BUDGET_UNMETERED', reason } };
}

/** A streamed chat completion that does not ask for the usage chunk (the Responses API always reports it). */
function streamsWithoutUsage(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as { stream?: unknown; stream_options?: { include_usage?: unknown }; input?: unknown };
  if (b.stream !== true || b.input !== undefined) return false;
  return b.stream_options?.include_usage !== true;
}
