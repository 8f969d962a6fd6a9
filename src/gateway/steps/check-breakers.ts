/**
 * The circuit breakers before the decision (src/guard/breakers/): the call is counted for its agent, its
 * txn and its agent→destination, and refused when one of their breakers is open or trips on it. A refusal
 * is a decision: the guard view is marked refused (code `WARRANT_BREAKER_OPEN`, the breaker and why), so
 * `decide` denies and `record` records the deny and answers it (429 with Retry-After). The breakers' state
 * and the risk signals (half-open probe, rate anomaly) go to the decision and its record.
 *
 * Without a guard runtime (unit harnesses) or with breakers disabled there is nothing to check. Counters
 * that cannot answer fail closed (503 WARRANT_HOT_STATE_UNAVAILABLE, nothing forwarded).
 */
import type { GuardView } from '../../guard/check-call.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';

export const checkBreakers: GatewayStep = {
  name: 'check-breakers',
  async run(call: GatewayCall): Promise<void> {
    const guard = call.gw.guard;
    const view = need(call.guard, 'guard');
    if (guard === undefined || !guard.breakers.enabled) return;
    // Already refused (unknown action), or protocol housekeeping only: no action call to count.
    const actions = view.calls.filter((c) => c.kind === 'action').length;
    if (view.verdict === 'refuse' || actions === 0) return;
    const claims = need(call.presented, 'presented').leaf.claims;
    const subject = {
      agent: claims.act.sub,
      txn: claims.txn,
      destination: need(call.route, 'route').audience,
    };
    const check = await guard.breakers.check(subject, guard.now(), `gateway:${call.gw.id}`, actions);
    call.breakers = { subject, check };
    call.signals = check.signals;
    if (check.refusal === undefined) return;
    call.guard = refused(view, check.refusal.reason);
    call.retryAfter = check.refusal.retryAfter;
  },
};

/** The view with every action call refused by the open breaker. */
function refused(view: GuardView, reason: string): GuardView {
  return {
    ...view,
    verdict: 'refuse',
    reasons: [reason],
    calls: view.calls.map((c) =>
      c.kind === 'action' ? { kind: 'refused', call: c.call, code: 'WARRANT_BREAKER_OPEN', reason } : c,
    ),
  };
}
