/**
 * Chains that cross a trust boundary (DESIGN §11): an agent of a trusted peer presents the peer's chain to
 * this deployment's STS, which issues a warrant whose `prev` is the hash of the peer's last link. The whole
 * chain then reads peer links (the peer's issuer, verified with the peer's keys) followed by this
 * deployment's links. The rules between links are the same everywhere (chain-rules.ts) but for `iss`, which
 * may change exactly once, from one configured peer to this deployment; and at the boundary the peer's last
 * link is held to the limits configured for that peer (never to anything a token says).
 */
import { ChainError, type ErrorCode } from '../errors.ts';
import { type Grant, grantsWithin, patternMatches } from '../grants/index.ts';
import { type KeyResolver, parseCompact } from '../jose/jws.ts';
import type { WarrantClaims } from '../tokens/claims.ts';

/** What this deployment allows a peer to send (from configuration only). */
export interface PeerLimits {
  /** Patterns over the `aud` of the peer's last link: which of this deployment's recipients it may address. */
  readonly audiences: readonly string[];
  /** The most the peer's last link may carry. */
  readonly grants: readonly Grant[];
  /** The deepest last link (its `depth`). */
  readonly maxDepth: number;
  /** The longest lifetime of the last link (`exp - iat`, seconds); absent: not limited here. */
  readonly maxLifetimeSeconds?: number;
  /** The peer's SPIFFE trust domain: each actor of its links must be in it; absent: not checked. */
  readonly trustDomain?: string;
}

/** A trusted peer as a chain verifier sees it: its issuer, its keys, its limits. */
export interface TrustedPeer {
  readonly issuer: string;
  readonly keys: KeyResolver;
  readonly limits: PeerLimits;
}

/** Looks a peer up by its exact issuer; `undefined`: not a configured peer. */
export type PeerLookup = (issuer: string) => TrustedPeer | undefined;

/**
 * The `iss` a compact warrant claims, read before its signature is checked, only to choose whose keys verify
 * it (the strict verification then requires that very issuer). `undefined` when the text does not parse.
 */
export function claimedIssuer(compact: string): string | undefined {
  try {
    const iss = (parseCompact(compact).claims as Record<string, unknown>)['iss'];
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

const peerError = (code: ErrorCode, index: number, message: string) => new ChainError(code, index, message);

/**
 * The peer's links against the peer's configured limits: `links` are the peer's part of a chain (root
 * first), the last of them the one that crosses. Throws a ChainError naming the offending link.
 */
export function checkPeerLimits(
  links: readonly { readonly claims: WarrantClaims }[],
  limits: PeerLimits,
): void {
  const lastIndex = links.length - 1;
  const last = links[lastIndex]!.claims;
  if (limits.trustDomain !== undefined) {
    const prefix = `spiffe://${limits.trustDomain}/`;
    links.forEach((link, i) => {
      if (!link.claims.act.sub.startsWith(prefix))
        throw peerError(
          'WARRANT_PEER_TRUST_DOMAIN_MISMATCH',
          i,
          `the actor is not in the peer's trust domain ${limits.trustDomain}`,
        );
    });
  }
  if (!limits.audiences.some((pattern) => patternMatches(pattern, last.aud)))
    throw peerError(
      'WARRANT_PEER_AUDIENCE_NOT_ALLOWED',
      lastIndex,
      'the peer may not send warrants to this recipient',
    );
  if (last.depth > limits.maxDepth)
    throw peerError(
      'WARRANT_PEER_DEPTH_EXCEEDED',
      lastIndex,
      `the peer's chain is ${last.depth} deep, more than the ${limits.maxDepth} it may send`,
    );
  if (!grantsWithin(last.grants, limits.grants))
    throw peerError('WARRANT_PEER_GRANT_EXCEEDED', lastIndex, 'the grants are beyond what the peer may send');
  if (limits.maxLifetimeSeconds !== undefined && last.exp - last.iat > limits.maxLifetimeSeconds)
    throw peerError(
      'WARRANT_PEER_LIFETIME_EXCEEDED',
      lastIndex,
      `the warrant lives ${last.exp - last.iat}s, more than the ${limits.maxLifetimeSeconds}s the peer may send`,
    );
}

/**
 * Where a chain crosses: the index of this deployment's first link, and the peer before it; `undefined` for
 * a chain of this deployment's links only. Throws unless the issuers read peer…peer, own…own with one
 * configured peer (`WARRANT_PEER_UNKNOWN` for an issuer not configured, `WARRANT_PEER_CHAIN_INVALID` for
 * any other shape, including a chain that ends with the peer's link).
 */
export function findBoundary(
  issuers: readonly string[],
  own: string,
  peers: PeerLookup | undefined,
): { readonly index: number; readonly peer: TrustedPeer } | undefined {
  const first = issuers[0]!;
  if (first === own) {
    const other = issuers.findIndex((i) => i !== own);
    if (other < 0) return undefined;
    if (peers?.(issuers[other]!) === undefined)
      throw peerError('WARRANT_PEER_UNKNOWN', other, 'the issuer is not a configured peer');
    throw peerError('WARRANT_PEER_CHAIN_INVALID', other, "a peer's link follows this deployment's");
  }
  const peer = peers?.(first);
  if (peer === undefined) throw peerError('WARRANT_PEER_UNKNOWN', 0, 'the issuer is not a configured peer');
  const index = issuers.findIndex((i) => i !== first);
  if (index < 0)
    throw peerError(
      'WARRANT_PEER_CHAIN_INVALID',
      issuers.length - 1,
      "the chain ends with the peer's link: only this deployment's warrants are accepted here",
    );
  for (let i = index; i < issuers.length; i++) {
    if (issuers[i] === own) continue;
    if (peers?.(issuers[i]!) === undefined)
      throw peerError('WARRANT_PEER_UNKNOWN', i, 'the issuer is not a configured peer');
    throw peerError('WARRANT_PEER_CHAIN_INVALID', i, 'the chain crosses more than one boundary');
  }
  return { index, peer };
}
