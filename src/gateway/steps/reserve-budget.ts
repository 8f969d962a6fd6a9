/**
 * The budgets (DESIGN §6), the last step before the record: an allowed request's charges — money from an
 * action's parameter, calls, LLM tokens — are reserved in the guard store atomically, all or none, before
 * anything is forwarded. The call that would take a budget past its limit becomes a recorded refusal
 * (`WARRANT_BUDGET_EXCEEDED`, or `approval_required` when the budget says so) naming the budget, its
 * limit, the spent amount and what the call counts. A store that does not answer refuses the call
 * (`WARRANT_BUDGET_UNAVAILABLE`, fail closed). What was reserved for a call that was not carried out is
 * given back after the answer (settle-budget.ts); LLM tokens are counted there, from the reported usage.
 */
import { type Budget, quantityName } from '../../guard/budgets/budget.ts';
import type { ChargeState } from '../../guard/budgets/budget-store.ts';
import { chargesOf } from '../../guard/budgets/charges.ts';
import { UsageMeter } from '../../guard/budgets/llm-usage.ts';
import type { CallDecision } from '../authorize-call.ts';
import { type GatewayCall, type GatewayStep, need, type Verdict } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';

/**
 * How long a reservation may take before the call is refused (fail closed): a store that hangs (a
 * partitioned network) must not hold callers. A reservation that commits after this still counts — the
 * refused call then over-counts, never under-counts.
 */
const RESERVE_TIMEOUT_MS = 3000;

export const reserveBudget: GatewayStep = {
  name: 'reserve-budget',
  async run(call: GatewayCall): Promise<void> {
    const verdict = need(call.verdict, 'verdict');
    if (verdict.decision.decision !== 'allow') return;
    const budgets = call.gw.guard?.budgets;
    if (budgets === undefined || !budgets.configured) return;
    const claims = need(call.presented, 'presented').leaf.claims;
    const parameters = need(call.parameters, 'parameters');
    const now = call.gw.now();
    const counted = chargesOf({
      budgets: (action) => budgets.of(action),
      view: need(call.guard, 'guard'),
      reader: (c) => parameters.reader(c),
      who: { agent: claims.act.sub, person: { sub: claims.sub, iss: claims.sub_iss }, txn: claims.txn },
      now,
    });
    if ('refusal' in counted) {
      call.verdict = refused(verdict, 'deny', counted.refusal.code, counted.refusal.reason);
      return;
    }
    const { charges } = counted;
    if (charges.length === 0) return;
    let result: Awaited<ReturnType<typeof budgets.reserve>>;
    try {
      result = await withinTime(budgets.reserve(charges, now), RESERVE_TIMEOUT_MS);
    } catch (cause) {
      throw new GatewayError(
        'WARRANT_BUDGET_UNAVAILABLE',
        'the budget store did not answer; nothing was forwarded',
        { cause },
      );
    }
    if (!result.ok) {
      const budget = need(budgets.get(result.exceeded.name), 'budget');
      call.budgets = { charges, states: [result.exceeded], reserved: false };
      call.verdict =
        budget.onExceed === 'approval'
          ? refused(
              verdict,
              'approval_required',
              'WARRANT_APPROVAL_REQUIRED',
              exceeded(budget, result.exceeded, true),
            )
          : refused(verdict, 'deny', 'WARRANT_BUDGET_EXCEEDED', exceeded(budget, result.exceeded, false));
      return;
    }
    call.budgets = { charges, states: result.states, reserved: true };
    if (charges.some((c) => c.mode === 'check')) {
      const meter = new UsageMeter();
      call.budgets.meter = meter;
      call.responseTap = (chunk) => meter.write(chunk);
    }
  },
};

/** The verdict turned into a refusal with one reason (the action, resource and grants stay recorded). */
function refused(
  verdict: Verdict,
  decision: 'deny' | 'approval_required',
  code: NonNullable<CallDecision['code']>,
  reason: string,
): Verdict {
  return {
    ...verdict,
    decision: { ...verdict.decision, decision, code, reasons: [reason], error: 'access_denied' },
  };
}

/** `budget payments-per-agent (amount per agent): limit 500, spent 500, this call 100 — would exceed`. */
function exceeded(budget: Budget, state: ChargeState, approval: boolean): string {
  const per = `${quantityName(budget)} per ${budget.scope}${budget.period === 'day' ? ' per day (UTC)' : ''}`;
  const what =
    budget.quantity === 'llm_tokens' ? `the limit is reached` : `this call ${state.quantity} would exceed it`;
  return `budget ${budget.name} (${per}): limit ${state.limit}, spent ${state.spent}; ${what}${approval ? '; a person must approve this call' : ''}`;
}

/** `work`, or a rejection once `ms` have passed without an answer. */
function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the guard store within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
