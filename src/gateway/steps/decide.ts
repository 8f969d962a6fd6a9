/**
 * Steps 4–5, the decision (DESIGN §5): every call of the request must be allowed — a guard refusal
 * (unknown action) denies; each action must be covered by a grant of the warrant whose constraints the
 * call's parameters satisfy, and allowed by the Cedar action policy with the risk score and the chain
 * facts. Calls are decided in order and the first denial is the request's decision; an allowed request
 * is decided as its last action (or as a session call when it has none).
 */
import type { Grant } from '../../core/grants/index.ts';
import { type BoundCall, boundCall, boundDigest } from '../../guard/approvals/digest.ts';
import type { CallDescriptor, CatalogEntry } from '../../guard/catalog.ts';
import { authorizeCall, type CallDecision } from '../authorize-call.ts';
import { type DecidedCall, type GatewayCall, type GatewayStep, need, type Verdict } from '../context.ts';
import type { ParameterReader } from '../read-parameters.ts';

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
  const decided: DecidedCall[] = [];
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
    const reader = parameters.reader(guarded.call);
    // The digest of the call is needed only when the warrant carries an approval for this action.
    const digest =
      claims.apv !== undefined && claims.apv.action === action.name
        ? callDigest(call, guarded.call, action, resource, reader)
        : undefined;
    const decision = authorizeCall({
      claims,
      action,
      resource,
      trustLevel: view.trustLevel,
      weights: gw.guardConfig.risk.weights,
      signals: call.signals,
      approved:
        digest !== undefined &&
        (digest === claims.apv?.digest || claims.apv?.digest.startsWith('narrow:') === true),
      policy,
      cache: gw.decisionCache,
      calls: gw.callCache,
      parameters: reader,
    });
    if (decision.decision !== 'allow') return { decision, action, resource, grants, decided };
    decided.push({ call: guarded.call, action, resource, decision, reader, ...(digest ? { digest } : {}) });
    if (decision.used !== undefined && !grants.includes(decision.used)) grants.push(decision.used);
    last = { decision, action, resource, grants, decided };
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
      decided,
    }
  );
}

/** The digest an approval of this call binds (src/guard/approvals/digest.ts); `undefined` if it has none. */
export function callDigest(
  call: GatewayCall,
  descriptor: CallDescriptor,
  action: CatalogEntry,
  resource: string,
  reader: ParameterReader,
): string | undefined {
  try {
    return boundDigest(boundOf(call, descriptor, action, resource, reader));
  } catch {
    // A value canonical JSON cannot hold (a lone surrogate): no approval can bind it.
    return undefined;
  }
}

/** What an approval of this call shows and binds. */
export function boundOf(
  call: GatewayCall,
  descriptor: CallDescriptor,
  action: CatalogEntry,
  resource: string,
  reader: ParameterReader,
): BoundCall {
  const http = descriptor.protocol === 'http' || descriptor.protocol === 'openai';
  return boundCall({
    action,
    resource,
    call: descriptor,
    read: (name) => reader.read(action.compiled.get(name)!),
    ...(http ? { target: `${call.req.method} ${call.url?.pathname ?? ''}${call.url?.search ?? ''}` } : {}),
    ...(descriptor.protocol === 'http' && call.body !== undefined ? { body: call.body } : {}),
  });
}
