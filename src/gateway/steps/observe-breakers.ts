/**
 * What the breakers learn once a call is answered (src/guard/breakers/): a recorded denial counts against
 * the agent and the txn, a failed outcome of an allowed call (upstream 5xx, no answer, timeout, cut off)
 * against the agent and the agent→destination; a half-open probe's result closes or re-opens its breakers.
 * Refusals by an open breaker are not counted again (they would keep it open by themselves).
 */
import type { GatewayObserver } from '../context.ts';

const FAILED_OUTCOMES = new Set(['upstream_failed', 'upstream_timeout', 'upstream_interrupted']);

export const observeBreakers: GatewayObserver = {
  name: 'breakers',
  observe(call) {
    const guard = call.gw.guard;
    const decision = call.verdict?.decision;
    // Only decisions (recorded): a refusal before the decision (credentials, hot state) says nothing.
    if (
      guard === undefined ||
      !guard.breakers.enabled ||
      decision === undefined ||
      call.decisionId === undefined
    )
      return;
    const claims = call.presented?.leaf.claims;
    const route = call.route;
    if (claims === undefined || route === undefined) return;
    const denied = decision.decision !== 'allow' && decision.code !== 'WARRANT_BREAKER_OPEN';
    const forwarded = call.forwarded;
    const failed =
      decision.decision === 'allow' &&
      forwarded !== undefined &&
      (FAILED_OUTCOMES.has(forwarded.outcome) || (forwarded.status ?? 0) >= 500);
    const probes = call.breakers?.check.probes ?? [];
    if (!denied && !failed && probes.length === 0) return;
    const subject = call.breakers?.subject ?? {
      agent: claims.act.sub,
      txn: claims.txn,
      destination: route.audience,
    };
    return guard.breakers.observe(subject, { denied, failed, probes }, guard.now(), `gateway:${call.gw.id}`);
  },
};
