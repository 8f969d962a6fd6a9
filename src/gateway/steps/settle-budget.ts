/**
 * After the answer (DESIGN §6 budgets): a reservation for a call that was not carried out is given back —
 * the record failed, the upstream could not be reached (`upstream_failed`), the body passed the limit on
 * the way, or the upstream answered 5xx. A call the upstream may have carried out keeps its charge even
 * when its answer broke off, timed out or the caller went away: when in doubt, it counts. LLM tokens the
 * upstream reported are added to their budgets whatever the outcome (they were spent).
 */
import type { GatewayCall, GatewayObserver } from '../context.ts';

export const settleBudget: GatewayObserver = {
  name: 'settle-budget',
  async observe(call: GatewayCall): Promise<void> {
    const charged = call.budgets;
    const budgets = call.gw.guard?.budgets;
    if (charged === undefined || budgets === undefined) return;
    const now = call.gw.now();
    if (charged.reserved && !carriedOut(call)) {
      charged.reserved = false;
      const held = charged.charges.filter((c) => c.mode === 'reserve' && c.quantity > 0);
      if (held.length > 0) await budgets.release(held, now);
    }
    const tokens = charged.meter?.total();
    if (tokens === undefined || tokens === 0) return;
    for (const c of charged.charges) if (c.mode === 'check') await budgets.add(c.budget, c.key, tokens, now);
  },
};

/** Whether the upstream may have carried the call out. */
function carriedOut(call: GatewayCall): boolean {
  const forwarded = call.forwarded;
  if (forwarded === undefined) return false;
  if (forwarded.outcome === 'upstream_failed' || forwarded.outcome === 'request_too_large') return false;
  return !(forwarded.outcome === 'forwarded' && (forwarded.status ?? 0) >= 500);
}
