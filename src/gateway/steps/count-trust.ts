/**
 * Progressive trust's observer (src/guard/trust/): after each answer, what the call says about its caller's
 * record — a clean call (an allowed action whose outcome succeeded: the upstream answered below 400), a
 * denial (a recorded `deny`), or a failed outcome (the upstream failed, timed out, broke off, or answered
 * 400 or more). Counted into the trust part's buffer; nothing is written on the request path.
 *
 * Not counted: requests refused before a decision was recorded (the caller may not even be who it says),
 * protocol session calls (an MCP `ping` proves nothing), calls the caller abandoned, and decisions other
 * than allow and deny (an approval pending says nothing bad about the agent). A JSON-RPC error inside a
 * 200 answer (MCP, A2A) counts as a successful outcome: the gateway does not read answers it streams.
 */
import type { GatewayCall, GatewayObserver } from '../context.ts';

export const countTrust: GatewayObserver = {
  name: 'count-trust',
  observe(call): void {
    const trust = call.gw.guard?.trust;
    const caller = call.presented?.leaf.claims.act.sub;
    if (trust === undefined || caller === undefined || call.decisionId === undefined) return;
    const what = countOf(call);
    if (what !== undefined) trust.count(caller, what);
  },
};

/** What the answered call counts as, if anything. */
function countOf(call: GatewayCall): 'clean' | 'denial' | 'failure' | undefined {
  const verdict = call.verdict;
  if (verdict === undefined) return undefined;
  if (verdict.decision.decision === 'deny') return 'denial';
  if (verdict.decision.decision !== 'allow' || verdict.action === undefined) return undefined;
  const outcome = call.forwarded;
  switch (outcome?.outcome) {
    case 'forwarded':
      return (outcome.status ?? 0) < 400 ? 'clean' : 'failure';
    case 'upstream_failed':
    case 'upstream_timeout':
    case 'upstream_interrupted':
      return 'failure';
    default:
      return undefined;
  }
}
