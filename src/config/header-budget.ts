import { MAX_CHAIN_LINKS } from '../core/chain/verify-chain.ts';

/** Bytes allowed per warrant for everything but its actor chain: header, grants, ids, status, signature. */
export const LINK_BYTES = 2048;
/** Bytes allowed per actor of a warrant's nested `act` claim (`{"sub":"spiffe://…","act":…}`, base64url). */
export const ACTOR_BYTES = 128;
/** Bytes allowed for every other header: the request line, the DPoP proof, Host, content headers, tracing. */
export const OTHER_HEADER_BYTES = 8192;

/**
 * The request header block a gateway must accept so that a chain of the deepest delegation `maxDepth`
 * allows fits (`gateway.limits.maxHeaderBytes`, docs/gateway.md). The chain has L = maxDepth + 1 links
 * (at most MAX_CHAIN_LINKS, the longest chain a verifier accepts); link i carries i + 1 actors in its
 * `act` claim, so the `Warrant-Chain` header holds L × LINK_BYTES + ACTOR_BYTES × L(L+1)/2 bytes, and the
 * leaf is sent once more in `Authorization` (LINK_BYTES + L × ACTOR_BYTES). Rounded up to a KiB.
 * Default depth 5: 26 KiB; depth 15: 61 KiB. Measured warrants from the STS with two grants are about
 * half of this budget (a 16-link chain: 28 KiB).
 */
export function headerBytesForDepth(maxDepth: number): number {
  const links = Math.min(maxDepth + 1, MAX_CHAIN_LINKS);
  const chain = links * LINK_BYTES + (ACTOR_BYTES * links * (links + 1)) / 2;
  const leaf = LINK_BYTES + links * ACTOR_BYTES;
  return Math.ceil((OTHER_HEADER_BYTES + chain + leaf) / 1024) * 1024;
}
