/**
 * Warrant and chain verification on WebCrypto, for browsers, edge workers and any runtime without node
 * built-ins: the same steps as src/core/chain/verify-chain.ts — strict parse, signature under a trusted key
 * bound to its `alg`, `typ: warrant+jwt`, the closed warrant claim set (core/tokens/claims.ts), clock rules
 * (core/tokens/token-checks.ts), the chain rules between links (core/chain/chain-rules.ts) — with the rules
 * themselves shared, only the crypto swapped. Asynchronous, because WebCrypto is.
 */
import { actorList, checkLink } from '../../core/chain/chain-rules.ts';
import { ChainError, KeyError, TokenError, WarrantError } from '../../core/errors.ts';
import { CLAIM_VALIDATORS, type WarrantClaims } from '../../core/tokens/claims.ts';
import {
  checkContext,
  checkTimes,
  epochSeconds,
  type VerifiedToken,
} from '../../core/tokens/token-checks.ts';
import { TYP } from '../../core/tokens/token-types.ts';

import { encode } from './base64url.ts';
import { type NeutralKeyResolver, sha256, tokenHash, verifySignature } from './crypto.ts';
import { parseCompact } from './jws.ts';

/** Longest chain accepted (links, root included), as the core's. */
export const MAX_CHAIN_LINKS = 16;

export type NeutralVerifiedWarrant = VerifiedToken<'warrant'>;

export interface NeutralVerifiedChain {
  readonly links: readonly NeutralVerifiedWarrant[];
  readonly root: NeutralVerifiedWarrant;
  readonly leaf: NeutralVerifiedWarrant;
  readonly person: { readonly sub: string; readonly iss: string };
  readonly actors: readonly string[];
  readonly txn: string;
  readonly digest: string;
  readonly exp: number;
  readonly nbf: number;
}

export interface NeutralVerifyOptions {
  /** The STS's keys (`importJwks(await (await fetch(issuer + '/jwks')).json())`). */
  readonly keys: NeutralKeyResolver;
  readonly issuer: string;
  /** This recipient: the leaf's `aud` must equal it. */
  readonly audience?: string;
  /** The presenter's key thumbprint (from its DPoP proof): the leaf's `cnf.jkt` must equal it. */
  readonly jkt?: string;
  readonly now?: number;
  readonly clockTolerance?: number;
}

/** One warrant: signature, kind, closed claims, times; no audience or holder check (see verifyWarrant). */
async function verifyToken(
  compact: unknown,
  options: NeutralVerifyOptions,
  now: number,
): Promise<NeutralVerifiedWarrant> {
  const parsed = parseCompact(compact);
  const kid = parsed.header['kid'] as string | undefined;
  const key = options.keys(kid);
  if (key === undefined) throw new KeyError('WARRANT_KEY_UNKNOWN', 'no trusted key for this kid');
  if (key.alg !== parsed.alg)
    throw new WarrantError('WARRANT_JWS_ALG_NOT_ALLOWED', `alg does not match the ${key.alg} key`);
  await verifySignature(key, parsed.signingInput, parsed.signature);
  const typ = parsed.header['typ'];
  if (typ !== TYP.warrant)
    throw new TokenError(
      'WARRANT_TOKEN_TYPE_MISMATCH',
      `expected typ ${TYP.warrant}, got ${typeof typ === 'string' ? typ.slice(0, 40) : 'none'}`,
    );
  const claims = CLAIM_VALIDATORS.warrant(parsed.claims as Record<string, unknown>) as WarrantClaims;
  const verified: NeutralVerifiedWarrant = Object.freeze({
    kind: 'warrant',
    compact: parsed.compact,
    hash: await tokenHash(parsed.compact),
    kid: key.kid,
    claims,
  });
  checkTimes(claims, { now, clockTolerance: options.clockTolerance });
  return verified;
}

const contextOptions = (o: NeutralVerifyOptions) => ({
  issuer: o.issuer,
  ...(o.audience === undefined ? {} : { audience: o.audience }),
  ...(o.jkt === undefined ? {} : { jkt: o.jkt }),
});

/** Verifies a single warrant for this recipient and presenter. */
export async function verifyWarrant(
  compact: string,
  options: NeutralVerifyOptions,
): Promise<NeutralVerifiedWarrant> {
  const verified = await verifyToken(compact, options, options.now ?? epochSeconds());
  checkContext(verified, contextOptions(options));
  return verified;
}

/** Splits a `Warrant-Chain` header value: `<root>, <hop1>, …, <leaf>`. */
export function splitChainHeader(value: string): string[] {
  if (typeof value !== 'string' || value.length === 0)
    throw new ChainError('WARRANT_CHAIN_MALFORMED', 0, 'chain is empty');
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length > MAX_CHAIN_LINKS)
    throw new ChainError(
      'WARRANT_CHAIN_MALFORMED',
      MAX_CHAIN_LINKS,
      `chain has more than ${MAX_CHAIN_LINKS} links`,
    );
  return parts;
}

/**
 * Verifies a full delegation chain, root first (DESIGN §3): every link a valid warrant from the issuer,
 * hash-linked, actors following audiences, grants only narrowing, lifetimes only shrinking, depth within
 * budget, one `txn` and one person; then the leaf against this recipient and presenter.
 */
export async function verifyChain(
  chain: readonly string[] | string,
  options: NeutralVerifyOptions,
): Promise<NeutralVerifiedChain> {
  const compacts = typeof chain === 'string' ? splitChainHeader(chain) : chain;
  if (compacts.length === 0) throw new ChainError('WARRANT_CHAIN_MALFORMED', 0, 'chain is empty');
  if (compacts.length > MAX_CHAIN_LINKS)
    throw new ChainError(
      'WARRANT_CHAIN_MALFORMED',
      MAX_CHAIN_LINKS,
      `chain has more than ${MAX_CHAIN_LINKS} links`,
    );
  if (!compacts.every((c) => typeof c === 'string'))
    throw new ChainError('WARRANT_CHAIN_MALFORMED', 0, 'links must be strings');
  const now = options.now ?? epochSeconds();
  const links: NeutralVerifiedWarrant[] = [];
  for (let i = 0; i < compacts.length; i++) {
    try {
      links.push(await verifyToken(compacts[i], options, now));
    } catch (error) {
      if (error instanceof WarrantError && !(error instanceof ChainError))
        throw new ChainError(error.code, i, error.message, { cause: error });
      throw error;
    }
  }
  const root = links[0]!;
  if (root.claims.depth !== 0)
    throw new ChainError('WARRANT_CHAIN_LINK_BROKEN', 0, 'chain does not start at a root warrant');
  for (let i = 1; i < links.length; i++) checkLink(links[i - 1]!, links[i]!, root.hash, i);
  const leaf = links[links.length - 1]!;
  try {
    checkContext(leaf, contextOptions(options));
  } catch (error) {
    if (error instanceof TokenError)
      throw new ChainError(error.code, links.length - 1, error.message, { cause: error });
    throw error;
  }
  return Object.freeze({
    links: Object.freeze(links),
    root,
    leaf,
    person: Object.freeze({ sub: root.claims.sub, iss: root.claims.sub_iss }),
    actors: Object.freeze(actorList(leaf.claims.act)),
    txn: root.claims.txn,
    digest: encode(await sha256(links.map((l) => l.hash).join(','))),
    exp: Math.min(...links.map((l) => l.claims.exp)),
    nbf: Math.max(...links.map((l) => l.claims.nbf ?? l.claims.iat)),
  });
}
