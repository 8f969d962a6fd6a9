import { ChainError, TokenError, WarrantError } from '../errors.ts';
import { encode } from '../jose/base64url.ts';
import { sha256, tokenHash } from '../jose/hash.ts';
import type { KeyResolver } from '../jose/jws.ts';
import {
  checkContext,
  checkTimes,
  epochSeconds,
  type VerifiedToken,
  verifyToken,
} from '../tokens/verify-token.ts';
import { actorList, checkLink } from './chain-rules.ts';
import { checkPeerLimits, claimedIssuer, findBoundary, type PeerLookup } from './crossing.ts';
import { VerifiedCache } from './verified-token-cache.ts';

export { checkLink };

/** Longest chain accepted (links, root included). The per-warrant `max_depth` budget applies within it. */
export const MAX_CHAIN_LINKS = 16;

export type VerifiedWarrant = VerifiedToken<'warrant'>;

export interface VerifiedChain {
  readonly links: readonly VerifiedWarrant[];
  readonly root: VerifiedWarrant;
  readonly leaf: VerifiedWarrant;
  /** The natural person at the root and the issuer that authenticated them. */
  readonly person: { readonly sub: string; readonly iss: string };
  /** Actors from the first agent to the current holder. */
  readonly actors: readonly string[];
  readonly txn: string;
  /** SHA-256 over the link hashes joined by ',', base64url: one identifier for the whole chain. */
  readonly digest: string;
  /** Earliest expiry and latest not-before over the chain (epoch seconds). */
  readonly exp: number;
  readonly nbf: number;
  /**
   * Where a chain crosses from a trusted peer into this deployment (DESIGN §11): the index of this
   * deployment's first link and the peer's issuer. Absent for a chain of this deployment's links only.
   */
  readonly boundary?: { readonly index: number; readonly peer: string };
}

export interface VerifyChainOptions {
  readonly keys: KeyResolver;
  readonly issuer: string;
  /** This recipient: the leaf's `aud` must equal it. */
  readonly audience?: string;
  /** The presenter's key thumbprint (from its DPoP proof): the leaf's `cnf.jkt` must equal it. */
  readonly jkt?: string;
  readonly now?: number;
  readonly clockTolerance?: number;
  /** Per-token cache (by token hash) and per-chain cache (by chain digest). */
  readonly cache?: ChainCache;
  /**
   * Trusted peers (`federation.peers`): with them, a chain may start with one peer's links, verified with
   * that peer's keys and held to its limits, and continue with this issuer's (crossing.ts). Without them,
   * every link must be this issuer's.
   */
  readonly peers?: PeerLookup;
}

/** A presented text and what verifying it gave. */
export interface PresentedText {
  readonly text: string;
  readonly value: VerifiedChain | VerifiedWarrant;
}

/**
 * The presented-text cache's key: the kind and the text's last 86 characters (a base64url Ed25519
 * signature; the last link's signature for a chain). A key taken from the whole ~4 KiB header made every
 * request hash the whole string — ~10 µs per lookup on the gateway (issue 13); a hit is honoured only if
 * the stored text equals the presented one (a memory compare), so a shared tail is just a miss.
 */
const TAIL = 86;
const textKey = (kind: 'c' | 'w', text: string): string => `${kind}${text.slice(-TAIL)}`;

/** The cached result for exactly `text`, if any. */
function presented(cache: ChainCache, kind: 'c' | 'w', text: string, now: number) {
  const entry = cache.texts.get(textKey(kind, text), now);
  if (entry === undefined) return undefined;
  if (entry.text === text) return entry.value;
  // Same tail, other text: a miss (counted as one).
  cache.texts.hits--;
  cache.texts.misses++;
  return undefined;
}

export class ChainCache {
  readonly tokens: VerifiedCache<VerifiedWarrant>;
  readonly chains: VerifiedCache<VerifiedChain>;
  /**
   * The same results for the exact presented text (a compact JWS, or a `Warrant-Chain` value): a repeat
   * presentation costs one map lookup instead of re-hashing every link. Safe because one token string has
   * exactly one meaning (canonical encodings only). Keyed by the text's tail (the last signature) with the
   * whole text kept and compared on a hit (see textKey).
   */
  readonly texts: VerifiedCache<PresentedText>;
  constructor(maxEntries = 10_000) {
    this.tokens = new VerifiedCache(maxEntries);
    this.chains = new VerifiedCache(maxEntries);
    this.texts = new VerifiedCache(maxEntries);
  }
  clear(): void {
    this.tokens.clear();
    this.chains.clear();
    this.texts.clear();
  }
}

/** Splits a `Warrant-Chain` header value: `<root>, <hop1>, …, <leaf>`. */
export function splitChainHeader(value: string): string[] {
  if (typeof value !== 'string' || value.length === 0)
    throw new ChainError('WARRANT_CHAIN_MALFORMED', 0, 'chain is empty');
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length > MAX_CHAIN_LINKS) {
    throw new ChainError(
      'WARRANT_CHAIN_MALFORMED',
      MAX_CHAIN_LINKS,
      `chain has more than ${MAX_CHAIN_LINKS} links`,
    );
  }
  return parts;
}

const chainDigest = (hashes: readonly string[]): string => encode(sha256(hashes.join(',')));

function verifyLink(
  compact: string,
  hash: string,
  index: number,
  options: Pick<VerifyChainOptions, 'keys' | 'issuer' | 'cache' | 'clockTolerance'>,
  now: number,
): VerifiedWarrant {
  const cached = options.cache?.tokens;
  const hit = cached?.get(hash, now);
  if (hit) return hit;
  try {
    const verified = verifyToken('warrant', compact, {
      keys: options.keys,
      issuer: options.issuer,
      now,
      ...tolerance(options),
    });
    cached?.set(verified.hash, verified, verified.claims.exp);
    return verified;
  } catch (error) {
    if (error instanceof WarrantError && !(error instanceof ChainError)) {
      throw new ChainError(error.code, index, error.message, { cause: error });
    }
    throw error;
  }
}

const tolerance = (o: VerifyChainOptions) =>
  o.clockTolerance === undefined ? {} : { clockTolerance: o.clockTolerance };

/**
 * Verifies a full delegation chain, root first: every link is a valid warrant from the issuer, each
 * `prev` is the hash of the link before, the actor of each link is the audience of the one before with the
 * actor history kept, grants only narrow, lifetimes only shrink, depth counts up within the budget, one
 * `txn` and one person throughout. Then the leaf is checked against this recipient and presenter.
 */
export function verifyChain(chain: readonly string[] | string, options: VerifyChainOptions): VerifiedChain {
  if (typeof chain === 'string' && options.cache) {
    const now = options.now ?? epochSeconds();
    const seen = presented(options.cache, 'c', chain, now) as VerifiedChain | undefined;
    if (seen) return checkChainUse(seen, options, now);
    const result = verifyChain(splitChainHeader(chain), options);
    options.cache.texts.set(textKey('c', chain), { text: chain, value: result }, result.exp);
    return result;
  }
  const compacts = typeof chain === 'string' ? splitChainHeader(chain) : chain;
  if (compacts.length === 0) throw new ChainError('WARRANT_CHAIN_MALFORMED', 0, 'chain is empty');
  if (compacts.length > MAX_CHAIN_LINKS) {
    throw new ChainError(
      'WARRANT_CHAIN_MALFORMED',
      MAX_CHAIN_LINKS,
      `chain has more than ${MAX_CHAIN_LINKS} links`,
    );
  }
  const now = options.now ?? epochSeconds();
  if (!compacts.every((c) => typeof c === 'string'))
    throw new ChainError('WARRANT_CHAIN_MALFORMED', 0, 'links must be strings');
  const hashes = compacts.map(tokenHash);
  const digest = chainDigest(hashes);
  let result = options.cache?.chains.get(digest, now);
  if (result === undefined) {
    result = buildChain(compacts, hashes, options, now, digest);
    options.cache?.chains.set(digest, result, result.exp);
  }
  return checkChainUse(result, options, now);
}

/** What a cached chain is checked for on every use: times, and the leaf against this recipient and presenter. */
function checkChainUse(result: VerifiedChain, options: VerifyChainOptions, now: number): VerifiedChain {
  const leafIndex = result.links.length - 1;
  try {
    for (const link of result.links) checkTimes(link.claims, { ...options, now });
    checkContext(result.leaf, options);
  } catch (error) {
    if (error instanceof TokenError)
      throw new ChainError(error.code, leafIndex, error.message, { cause: error });
    throw error;
  }
  return result;
}

function buildChain(
  compacts: readonly string[],
  hashes: readonly string[],
  options: VerifyChainOptions,
  now: number,
  digest: string,
): VerifiedChain {
  const links: VerifiedWarrant[] = [];
  // With peers configured, the claimed issuers say whose keys verify each link (the verification then
  // requires that issuer); the shape must be peer…peer, own…own (crossing.ts).
  const crossing =
    options.peers === undefined
      ? undefined
      : findBoundary(
          compacts.map((c) => claimedIssuer(c) ?? options.issuer),
          options.issuer,
          options.peers,
        );
  for (let i = 0; i < compacts.length; i++) {
    const byPeer = crossing !== undefined && i < crossing.index;
    const keys = byPeer ? { ...options, keys: crossing.peer.keys, issuer: crossing.peer.issuer } : options;
    links.push(verifyLink(compacts[i]!, hashes[i]!, i, keys, now));
  }
  const root = links[0]!;
  if (root.claims.depth !== 0)
    throw new ChainError('WARRANT_CHAIN_LINK_BROKEN', 0, 'chain does not start at a root warrant');
  for (let i = 1; i < links.length; i++)
    checkLink(links[i - 1]!, links[i]!, root.hash, i, crossing?.index === i);
  if (crossing !== undefined) checkPeerLimits(links.slice(0, crossing.index), crossing.peer.limits);
  const leaf = links[links.length - 1]!;
  return Object.freeze({
    links: Object.freeze(links),
    root,
    leaf,
    person: Object.freeze({ sub: root.claims.sub, iss: root.claims.sub_iss }),
    actors: Object.freeze(actorList(leaf.claims.act)),
    txn: root.claims.txn,
    digest,
    exp: Math.min(...links.map((l) => l.claims.exp)),
    nbf: Math.max(...links.map((l) => l.claims.nbf ?? l.claims.iat)),
    ...(crossing === undefined ? {} : { boundary: { index: crossing.index, peer: crossing.peer.issuer } }),
  });
}

/** Verifies a single warrant (no chain) with the same cache: signature, kind, times, audience, holder. */
export function verifyWarrant(compact: string, options: VerifyChainOptions): VerifiedWarrant {
  const now = options.now ?? epochSeconds();
  const byText =
    options.cache && (presented(options.cache, 'w', compact, now) as VerifiedWarrant | undefined);
  if (byText) {
    checkTimes(byText.claims, { ...options, now });
    checkContext(byText, options);
    return byText;
  }
  const hash = tokenHash(compact);
  const cached = options.cache?.tokens.get(hash, now);
  if (cached)
    options.cache?.texts.set(textKey('w', compact), { text: compact, value: cached }, cached.claims.exp);
  if (cached === undefined) {
    const verified = verifyToken('warrant', compact, {
      keys: options.keys,
      issuer: options.issuer,
      now,
      ...tolerance(options),
    });
    options.cache?.tokens.set(hash, verified, verified.claims.exp);
    options.cache?.texts.set(textKey('w', compact), { text: compact, value: verified }, verified.claims.exp);
    checkContext(verified, options);
    return verified;
  }
  checkTimes(cached.claims, { ...options, now });
  checkContext(cached, options);
  return cached;
}
