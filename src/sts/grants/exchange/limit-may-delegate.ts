import { patternWithin } from '../../../core/grants/index.ts';
import { OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext } from './context.ts';
import { requestedDelegation } from './request-params.ts';

/**
 * Hop: whom the recipient may delegate onward to. A resource may not; an agent may delegate as far as the
 * parent allows, or to the narrower `delegate_to` it asks for (the parent's tiers kept).
 */
export function limitMayDelegate(
  ctx: Pick<ExchangeContext, 'params' | 'parent' | 'recipient' | 'mayDelegate'>,
): void {
  const delegateTo = requestedDelegation(ctx.params);
  const allowed = ctx.parent.claims.may_delegate;
  if (ctx.recipient.party.kind === 'resource') ctx.mayDelegate = false;
  else if (delegateTo === undefined) ctx.mayDelegate = allowed;
  else {
    const within = (allowed as { aud: readonly string[] }).aud;
    if (!delegateTo.every((c) => within.some((q) => patternWithin(c, q)))) {
      throw new OAuthError(
        'invalid_target',
        'WARRANT_CHAIN_DELEGATION_FORBIDDEN',
        'delegate_to is wider than the subject warrant allows',
      );
    }
    ctx.mayDelegate =
      allowed !== false && allowed.tiers ? { aud: delegateTo, tiers: allowed.tiers } : { aud: delegateTo };
  }
}

/**
 * Root: a resource may not delegate; an agent may delegate to `delegate_to`, by default to what it may obtain
 * warrants for anyway.
 */
export function rootMayDelegate(ctx: Pick<ExchangeContext, 'params' | 'recipient' | 'mayDelegate'>): void {
  const delegateTo = requestedDelegation(ctx.params);
  const agent = ctx.recipient.agent;
  if (agent !== null) ctx.mayDelegate = { aud: delegateTo ?? [...agent.allowedAudiences] };
  // A peer's agent (DESIGN §11) is not registered here: it may delegate only to what `delegate_to` names.
  else if (ctx.recipient.party.kind === 'agent' && delegateTo !== undefined)
    ctx.mayDelegate = { aud: delegateTo };
  else ctx.mayDelegate = false;
}
