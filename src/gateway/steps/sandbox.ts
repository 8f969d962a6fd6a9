/**
 * The sandbox (DESIGN §6 "throttle and sandbox"): an allowed call of an action that declares
 * `sandbox: {upstream, belowTrustLevel}`, made by an agent whose trust level is below that level, goes to
 * the sandbox upstream instead of production. The forward step sends the request path after the route
 * prefix to the sandbox URL (its origin and base path), on every protocol; the decision record says the
 * call was sandboxed and where it went.
 *
 * A request of several calls (a JSON-RPC batch) goes to the sandbox when any of its actions sends this
 * caller there — never part of it to production. Two different sandboxes for one request cannot both be
 * honoured: that is a denial (`WARRANT_SANDBOX_CONFLICT`), recorded like any other.
 */
import type { CallDecision } from '../authorize-call.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';

export const sandbox: GatewayStep = {
  name: 'sandbox',
  run(call: GatewayCall): void {
    const verdict = need(call.verdict, 'verdict');
    if (verdict.decision.decision !== 'allow') return;
    const view = need(call.guard, 'guard');
    const targets = new Set<string>();
    for (const guarded of view.calls) {
      if (guarded.kind !== 'action' || guarded.action.sandbox === undefined) continue;
      if (view.trustLevel < guarded.action.sandbox.belowTrustLevel)
        targets.add(guarded.action.sandbox.upstream);
    }
    if (targets.size === 0) return;
    if (targets.size > 1) {
      const decision: CallDecision = {
        ...verdict.decision,
        decision: 'deny',
        reasons: [
          `the calls would go to ${targets.size} different sandboxes at trust level ${view.trustLevel}`,
        ],
        code: 'WARRANT_SANDBOX_CONFLICT',
        error: 'access_denied',
      };
      call.verdict = { ...verdict, decision };
      return;
    }
    const [upstream] = targets as Set<string> & [string];
    call.upstream = upstream;
    call.sandboxed = new URL(upstream).origin;
  },
};
