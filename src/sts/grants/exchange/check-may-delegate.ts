import { patternWithin } from '../../../core/grants/index.ts';
import { OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext } from './context.ts';

const forbidden = (description: string) =>
  new OAuthError('invalid_target', 'WARRANT_CHAIN_DELEGATION_FORBIDDEN', description);

/** Hop: the parent's `may_delegate` allows this audience, and (when it names tiers) the recipient's tier. */
export function checkMayDelegate(ctx: Pick<ExchangeContext, 'parent' | 'audience' | 'recipient'>): void {
  const allowed = ctx.parent.claims.may_delegate;
  if (allowed === false || !allowed.aud.some((pattern) => patternWithin(ctx.audience, pattern)))
    throw forbidden('the subject warrant does not allow delegation to that audience');
  const agent = ctx.recipient.agent;
  if (allowed.tiers !== undefined && (agent === null || !allowed.tiers.includes(agent.tier)))
    throw forbidden('the subject warrant does not allow delegation to that tier');
}
