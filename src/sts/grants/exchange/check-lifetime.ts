import { OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';
import { requestedLifetime } from './request-params.ts';

type Limits = { readonly services: { readonly config: { readonly sts: ExchangeServices['config']['sts'] } } };

/**
 * Hop: a lifetime asked for must not outlive the parent; the child lives at most the hop lifetime and ends
 * no later than its parent, and one that could not start is refused.
 */
export function checkLifetime(
  ctx: Pick<ExchangeContext, 'params' | 'parent' | 'now' | 'iat' | 'exp'> & Limits,
): void {
  const { now } = ctx;
  const p = ctx.parent.claims;
  const hopLifetime = ctx.services.config.sts.hopLifetime;
  const wanted = requestedLifetime(ctx.params);
  if (wanted !== undefined && now + wanted > p.exp) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_CHAIN_LIFETIME_EXTENDED',
      'the requested lifetime outlives the subject warrant',
    );
  }
  const exp = Math.min(p.exp, now + Math.min(wanted ?? hopLifetime, hopLifetime));
  if (exp <= Math.max(now, p.iat))
    throw new OAuthError('invalid_grant', 'WARRANT_TOKEN_EXPIRED', 'the subject warrant has expired');
  ctx.iat = Math.max(now, p.iat);
  ctx.exp = exp;
}

/** Root: the warrant lifetime, or less when asked. Takes the exchange's time. */
export function rootLifetime(
  ctx: Pick<ExchangeContext, 'params' | 'now' | 'iat' | 'exp'> & {
    readonly services: Pick<ExchangeServices, 'clock' | 'config'>;
  },
): void {
  const now = ctx.services.clock();
  const { warrantLifetime } = ctx.services.config.sts;
  const lifetime = Math.min(requestedLifetime(ctx.params) ?? warrantLifetime, warrantLifetime);
  ctx.now = now;
  ctx.iat = now;
  ctx.exp = now + lifetime;
}
