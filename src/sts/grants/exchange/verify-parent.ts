import { TokenError, WarrantError } from '../../../core/errors.ts';
import { checkTimes, verifyToken } from '../../../core/tokens/index.ts';
import { fromWarrantError, OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';
import { isRevokedWithReads, type StartedReads } from './start-reads.ts';

/**
 * Hop: the subject token is a warrant this STS signed, valid now. Takes the exchange's time.
 *
 * A warrant is exchanged many times (one parent, many hops), so a verified one is remembered by its exact
 * text until it expires: a repeat costs a map lookup instead of an Ed25519 verification (as the gateway's
 * chain cache does). What a cached result does not cover is checked on every use: the times, the issuer,
 * and that its signing key is still trusted (a key past its rotation overlap takes its warrants with it).
 * Revocation is not part of it: checkParentLive asks the store every time.
 */
export function verifyParent(
  ctx: Pick<ExchangeContext, 'subjectToken' | 'now' | 'parent'> & {
    readonly services: Pick<ExchangeServices, 'clock' | 'keys' | 'issuer' | 'verifiedParents'>;
  },
): void {
  const { services } = ctx;
  const now = services.clock();
  ctx.now = now;
  const cache = services.keys.trusts === undefined ? undefined : services.verifiedParents;
  try {
    const seen = cache?.get(ctx.subjectToken, now);
    if (seen !== undefined && services.keys.trusts!(seen.kid, now)) {
      checkTimes(seen.claims, { now });
      if (seen.claims.iss !== services.issuer) throw new TokenError('WARRANT_ISSUER_MISMATCH');
      ctx.parent = seen;
      return;
    }
    ctx.parent = verifyToken('warrant', ctx.subjectToken, {
      keys: services.keys.keySet(now).resolve,
      issuer: services.issuer,
      now,
    });
    cache?.set(ctx.subjectToken, ctx.parent, ctx.parent.claims.exp);
  } catch (error) {
    if (error instanceof WarrantError) throw fromWarrantError(error, 'invalid_grant');
    throw error;
  }
}

/**
 * Hop, the chain rule (DESIGN §3): the actor of each link is the audience of the link before it, so the only
 * agent that may exchange a warrant is its recipient (proving its own key).
 */
export function checkChainLink(ctx: Pick<ExchangeContext, 'parent' | 'caller'>): void {
  if (ctx.parent.claims.aud !== ctx.caller.id) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_CALLER_NOT_AUDIENCE',
      'the caller is not the recipient of the subject warrant',
    );
  }
}

/**
 * Hop: the parent is live. Revocation cascades to every descendant at revoke time (and races are caught when
 * the child is recorded), so the parent's own state covers every ancestor. Unknown → fail closed.
 */
export async function checkParentLive(
  ctx: Pick<ExchangeContext, 'parent'> & {
    readonly services: { readonly store: Pick<ExchangeServices['store'], 'tokens'> };
    readonly reads?: StartedReads | undefined;
  },
): Promise<void> {
  if ((await isRevokedWithReads(ctx.services.store.tokens, ctx.reads, ctx.parent.hash)) !== false) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_PARENT_REVOKED',
      'the subject warrant is revoked or unknown',
    );
  }
}
