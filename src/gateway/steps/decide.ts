/**
 * Steps 4–5, the decision (DESIGN §5): every call of the request must be allowed — a guard refusal
 * (unknown action) denies; each action must be covered by a grant of the warrant whose constraints the
 * call's parameters satisfy, and allowed by the Cedar action policy with the risk score and the chain
 * facts. Calls are decided in order and the first denial is the request's decision; an allowed request
 * is decided as its last action (or as a session call when it has none).
 */
import type { Grant } from '../../core/grants/index.ts';
import { authorizeCall, type CallDecision } from '../authorize-call.ts';
import { type GatewayCall, type GatewayStep, need, type Verdict } from '../context.ts';

const NO_RISK = Object.freeze({ score: 0, factors: Object.freeze([]) });

export const decide: GatewayStep = {
  name: 'decide',
  run(call: GatewayCall): void {
    call.verdict = verdictOf(call);
  },
};

function verdictOf(call: GatewayCall): Verdict {
  const view = need(call.guard, 'guard');
  const claims = need(call.presented, 'presented').leaf.claims;
  const parameters = need(call.parameters, 'parameters');
  const { gw, policy } = call;
  const grants: Grant[] = [];
  let last: Verdict | undefined;
  for (const guarded of view.calls) {
    if (guarded.kind === 'session') continue;
    if (guarded.kind === 'refused') {
      const decision: CallDecision = {
        decision: 'deny',
        reasons: [guarded.reason],
        code: guarded.code,
        error: 'access_denied',
        policyVersion: policy.version,
        risk: NO_RISK,
      };
      return { decision, grants };
    }
    const { action, resource } = guarded;
    const decision = authorizeCall({
      claims,
      action,
      resource,
      trustLevel: view.trustLevel,
      policy,
      cache: gw.decisionCache,
      calls: gw.callCache,
      parameters: parameters.reader(guarded.call),
    });
    if (decision.decision !== 'allow') return { decision, action, resource, grants };
    if (decision.used !== undefined && !grants.includes(decision.used)) grants.push(decision.used);
    last = { decision, action, resource, grants };
  }
  return (
    last ?? {
      decision: {
        decision: 'allow',
        reasons: ['protocol session call'],
        policyVersion: policy.version,
        risk: NO_RISK,
      },
      grants,
    }
  );
}
