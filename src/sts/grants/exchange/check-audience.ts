import { patternMatches } from '../../../core/grants/index.ts';
import type { AgentParty, ResourceParty } from '../../../policy/index.ts';
import type { AgentRecord } from '../../../store/ports.ts';
import { OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';

const MAX_AUDIENCE = 2048;

/** Whom a warrant is for: a resource, or a registered agent (with its record). */
export interface Recipient {
  readonly party: AgentParty | ResourceParty;
  readonly agent: AgentRecord | null;
}

export const agentParty = (a: AgentRecord): AgentParty => ({
  kind: 'agent',
  id: a.id,
  tier: a.tier,
  trustLevel: a.trustLevel,
  owner: a.owner,
});

const notAllowed = (description: string) =>
  new OAuthError('invalid_target', 'WARRANT_AUDIENCE_NOT_ALLOWED', description);

/**
 * A recipient the caller may obtain warrants for: one identifier (no whitespace, control character or `*`),
 * allowed for the caller, and — a SPIFFE ID — a registered, active agent.
 */
export async function checkAudience(
  ctx: Pick<ExchangeContext, 'caller' | 'audience' | 'recipient'> & {
    readonly services: {
      readonly store: Pick<ExchangeServices['store'], 'agents'>;
      readonly peers?: Pick<NonNullable<ExchangeServices['peers']>, 'forTrustDomain'>;
    };
  },
): Promise<void> {
  const { audience } = ctx;
  if (audience.length > MAX_AUDIENCE || /[\s\p{Cc}*]/u.test(audience))
    throw notAllowed('audience must be one recipient identifier');
  if (!ctx.caller.allowedAudiences.some((p) => patternMatches(p, audience)))
    throw notAllowed('this agent may not obtain warrants for that audience');
  if (!audience.startsWith('spiffe://')) {
    ctx.recipient = { party: { kind: 'resource', id: audience }, agent: null };
    return;
  }
  const peerAgent = peerAgentParty(ctx.services.peers, audience);
  if (peerAgent !== undefined) {
    // An agent of a trusted peer (DESIGN §11): it is not registered here; it continues the chain at its
    // own STS, which holds what it receives to its own limits and policy.
    ctx.recipient = { party: peerAgent, agent: null };
    return;
  }
  const agent = await ctx.services.store.agents.get(audience);
  if (agent === null)
    throw new OAuthError('invalid_target', 'WARRANT_AGENT_UNKNOWN', 'the audience is not a registered agent');
  if (agent.status !== 'active')
    throw new OAuthError('invalid_target', 'WARRANT_AGENT_DISABLED', 'the audience agent is disabled');
  ctx.recipient = { party: agentParty(agent), agent };
}

/** The trust domain of a SPIFFE ID (`spiffe://<trust domain>/…`). */
const trustDomainOf = (id: string): string => id.slice('spiffe://'.length).split('/')[0]!;

/**
 * An agent of a trusted peer as a policy party (tier `peer`, trust level 0, owned by the peer's issuer), when
 * `id` is a SPIFFE ID in a peer's trust domain; else `undefined`.
 */
export function peerAgentParty(
  peers: Pick<NonNullable<ExchangeServices['peers']>, 'forTrustDomain'> | undefined,
  id: string,
): AgentParty | undefined {
  if (!id.startsWith('spiffe://')) return undefined;
  const peer = peers?.forTrustDomain(trustDomainOf(id));
  return peer === undefined
    ? undefined
    : { kind: 'agent', id, tier: 'peer', trustLevel: 0, owner: peer.issuer };
}

/** Root: an ID-JAG that names resources (RFC 8707) roots warrants for those only. */
export function checkPersonResources(ctx: Pick<ExchangeContext, 'person' | 'audience'>): void {
  const { resources } = ctx.person;
  if (resources !== undefined && !resources.includes(ctx.audience))
    throw notAllowed('the audience is not one of the resources the ID-JAG grants');
}
