import { type DelegationInput, decideDelegation } from '../../../policy/index.ts';
import { OAuthError } from '../../oauth-error.ts';
import { agentParty } from './check-audience.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';

type PolicyServices = { readonly services: Pick<ExchangeServices, 'policy' | 'decisions'> };

/** The delegation policy must allow every grant, else nothing is issued. */
function decide(services: PolicyServices['services'], input: DelegationInput): void {
  const decision = decideDelegation(services.policy, input, services.decisions);
  if (decision.decision !== 'allow') {
    throw new OAuthError(
      'invalid_scope',
      'WARRANT_DELEGATION_DENIED',
      `delegation policy denies: ${decision.reasons.join('; ')}`.slice(0, 500),
    );
  }
}

/** Root: may the person hand the caller these grants? (`task` as sent: it is checked afterwards.) */
export function decideRoot(
  ctx: Pick<ExchangeContext, 'params' | 'person' | 'caller' | 'grants'> & PolicyServices,
): void {
  const { params, person } = ctx;
  decide(ctx.services, {
    delegator: { kind: 'person', id: person.sub, issuer: person.issuer },
    recipient: agentParty(ctx.caller),
    grants: ctx.grants,
    depth: 0,
    person: person.sub,
    ...(params.has('task') ? { task: params.get('task')! } : {}),
  });
}

/** Hop: may the caller hand the recipient these grants, one link further down the chain? */
export function decideHop(
  ctx: Pick<ExchangeContext, 'parent' | 'caller' | 'recipient' | 'grants' | 'task'> & PolicyServices,
): void {
  const p = ctx.parent.claims;
  decide(ctx.services, {
    delegator: agentParty(ctx.caller),
    recipient: ctx.recipient.party,
    grants: ctx.grants,
    depth: p.depth + 1,
    person: p.sub,
    ...(ctx.task === undefined ? {} : { task: ctx.task }),
  });
}
