import { OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext } from './context.ts';

/** Hop: one more link must fit the depth budget the root set. */
export function checkDepth(ctx: Pick<ExchangeContext, 'parent'>): void {
  const { depth, max_depth } = ctx.parent.claims;
  if (depth + 1 > max_depth) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_CHAIN_DEPTH_EXCEEDED',
      `the delegation depth budget (${max_depth}) is used up`,
    );
  }
}
