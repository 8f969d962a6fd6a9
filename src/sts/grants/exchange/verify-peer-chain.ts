/**
 * Crossing a trust boundary (DESIGN §11): the subject is a trusted peer's chain, presented whole (as the
 * `subject_token`, comma-separated root to leaf, or its leaf with the chain in a `Warrant-Chain` header).
 * It is verified offline with the peer's keys by the same strict parser and chain rules as this STS's own
 * chains, held to the limits configured for the peer, and checked live against the peer's status lists;
 * then the ordinary hop checks narrow it with this deployment's own policy, and the warrant minted has the
 * peer's leaf as `prev` (mint.ts does that for any parent).
 */

import { checkPeerLimits, claimedIssuer } from '../../../core/chain/crossing.ts';
import { type VerifiedChain, verifyChain } from '../../../core/chain/index.ts';
import { WarrantError } from '../../../core/errors.ts';
import { fromWarrantError, OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';

type PeerServices = Pick<ExchangeServices, 'clock' | 'issuer' | 'peers' | 'crossings'>;

/** The links of the subject: the whole chain, from the `subject_token` or the `Warrant-Chain` header. */
function presentedLinks(ctx: Pick<ExchangeContext, 'subjectToken' | 'warrantChain'>): string[] {
  if (ctx.subjectToken.includes(',')) {
    if (ctx.warrantChain !== undefined)
      throw new OAuthError(
        'invalid_request',
        'WARRANT_CHAIN_MALFORMED',
        'give the chain once: as the subject_token or in Warrant-Chain',
      );
    return ctx.subjectToken.split(',').map((s) => s.trim());
  }
  if (ctx.warrantChain === undefined)
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_PEER_CHAIN_REQUIRED',
      "a peer's warrant is exchanged with its whole chain (subject_token root,…,leaf, or Warrant-Chain)",
    );
  const links = ctx.warrantChain.split(',').map((s) => s.trim());
  if (links.at(-1) !== ctx.subjectToken)
    throw new OAuthError(
      'invalid_request',
      'WARRANT_CHAIN_MALFORMED',
      'the chain does not end with the subject_token',
    );
  return links;
}

/**
 * Whether this exchange's subject is a chain or a warrant from another issuer (a crossing). Anything that
 * is not plainly this STS's own single warrant takes the crossing path, which refuses what it cannot verify.
 */
export function isCrossing(
  ctx: Pick<ExchangeContext, 'subjectToken' | 'warrantChain'> & {
    readonly services: Pick<ExchangeServices, 'issuer' | 'peers'>;
  },
): boolean {
  if (ctx.warrantChain !== undefined || ctx.subjectToken.includes(',')) return true;
  // Without peers, a single foreign warrant takes the ordinary path (refused: its key is not trusted here).
  if ((ctx.services.peers?.size ?? 0) === 0) return false;
  const iss = claimedIssuer(ctx.subjectToken);
  return iss !== undefined && iss !== ctx.services.issuer;
}

/** The peer's chain verifies with the peer's keys, and its last link is within the peer's limits. */
export function verifyPeerChain(
  ctx: Pick<ExchangeContext, 'subjectToken' | 'warrantChain' | 'now' | 'parent' | 'peerChain'> & {
    readonly services: PeerServices;
  },
): void {
  const { services } = ctx;
  const now = services.clock();
  ctx.now = now;
  // The issuer first (a leaf from an issuer that is no peer is refused as such, chain or not), then the chain.
  const leaf = ctx.subjectToken.includes(',')
    ? ctx.subjectToken.slice(ctx.subjectToken.lastIndexOf(',') + 1).trim()
    : ctx.subjectToken;
  const issuer = claimedIssuer(leaf);
  const peer = issuer === undefined ? undefined : services.peers?.get(issuer);
  if (peer === undefined) {
    if (issuer === services.issuer)
      throw new OAuthError(
        'invalid_request',
        'WARRANT_CHAIN_MALFORMED',
        "exchange this STS's own warrant alone, without its chain",
      );
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_PEER_UNKNOWN',
      'the subject warrant is from an issuer that is not a trusted peer of this deployment',
    );
  }
  const links = presentedLinks(ctx);
  let chain: VerifiedChain;
  try {
    chain = verifyChain(links, { keys: peer.keys, issuer: peer.issuer, now });
    checkPeerLimits(chain.links, peer.limits);
  } catch (error) {
    if (error instanceof WarrantError) throw fromWarrantError(error, 'invalid_grant');
    throw error;
  }
  ctx.peerChain = chain;
  ctx.parent = chain.leaf;
}

/**
 * Every link of the peer's chain is known unrevoked at the peer, within the federation staleness bound
 * (its signed status lists, kept current by its revocation feed). Revoked: refused; unknown or stale:
 * refused too (fail closed).
 */
export async function checkPeerChainLive(
  ctx: Pick<ExchangeContext, 'peerChain'> & { readonly services: PeerServices },
): Promise<void> {
  const chain = ctx.peerChain!;
  const peer = ctx.services.peers!.get(chain.root.claims.iss)!;
  for (const link of chain.links) {
    const status = link.claims.status;
    if (!peer.revocation.has(status.uri)) await peer.revocation.ensure(status.uri);
    const state = peer.revocation.check(link.hash, status);
    if (state === 'revoked')
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_PEER_CHAIN_REVOKED',
        `link ${chain.links.indexOf(link)} of the peer's chain is revoked at the peer`,
      );
    if (state === 'stale')
      throw new OAuthError(
        'temporarily_unavailable',
        'WARRANT_STATUS_STALE',
        "the peer's revocation status is unavailable past the staleness bound; failing closed",
        { status: 503, headers: { 'retry-after': '1' } },
      );
  }
}

/**
 * After the crossing warrant is minted: this STS now watches the peer's chain, so a revocation at the peer
 * (of the root or any hop), or the peer's status going stale past the bound, revokes what it issued under it.
 */
export function watchCrossing(
  ctx: Pick<ExchangeContext, 'peerChain'> & { readonly services: PeerServices },
): void {
  ctx.services.crossings?.watch(ctx.peerChain!);
}
