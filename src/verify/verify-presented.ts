/**
 * What any recipient does with a presented warrant (DESIGN §3, §7 steps 1–3): the DPoP proof (RFC 9449)
 * for this method and URI, bound to the presented warrant; the warrant — or the whole `Warrant-Chain` —
 * for this audience and the proof's key; the revocation status of every link. The gateway calls it for
 * each request, and so can any service that receives warrants (the SDK's receiver middleware): nothing
 * here knows about routes, catalogs or forwarding.
 *
 * Every refusal is a `WarrantError` with a stable code; `src/http/error-table.ts` says how each is
 * answered over HTTP (401 for credentials, 503 `WARRANT_HOT_STATE_UNAVAILABLE` and `WARRANT_STATUS_STALE`
 * when the recipient cannot check, fail closed).
 */
import {
  type ChainCache,
  type VerifiedChain,
  type VerifiedWarrant,
  verifyChain,
  verifyWarrant,
} from '../core/chain/index.ts';
import { type VerifiedDpopProof, verifyDpopProof } from '../core/dpop/index.ts';
import { WarrantError } from '../core/errors.ts';
import type { PublicJwk } from '../core/jose/jwk.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import type { Peers } from '../federation/peers.ts';
import { type HeaderValues, singleHeader } from '../http/headers.ts';
import type { ReplayCache } from '../replay/index.ts';
import type { RevocationStatus } from './revocation-view.ts';

/** The parts of a request a recipient verifies (node:http's request gives them directly). */
export interface PresentedRequest {
  /** The request method (the proof's `htm`). */
  readonly method: string;
  /**
   * The request URI the proof must name (its `htu`): scheme, authority as the client addressed it, and
   * path. A query or fragment is ignored.
   */
  readonly htu: string;
  /** Every value of each header by lower-case name (`req.headersDistinct`): repeats are refused. */
  readonly headers: HeaderValues;
}

export interface VerifyPresentedOptions {
  /** The STS whose warrants are accepted. */
  readonly issuer: string;
  /** Its signing keys (a `KeySet`'s or `RemoteKeys`' resolver). */
  readonly keys: KeyResolver;
  /** This recipient: the warrant's `aud` must be it. */
  readonly audience: string;
  /** Where DPoP `jti`s are consumed (single use). */
  readonly replay: ReplayCache;
  /** Revocation status of every link (a `RevocationView`). */
  readonly revocation: RevocationStatus;
  /** Epoch seconds; default the clock. */
  readonly now?: number;
  /** Verified warrants and chains, reused until they expire (audience, key and times re-checked). */
  readonly cache?: ChainCache;
  /**
   * Trusted peers (DESIGN §11): a `Warrant-Chain` may start with one peer's links, verified with its keys
   * and limits, their revocation status read from the peer's status lists and feed.
   */
  readonly peers?: Pick<Peers, 'lookup' | 'get'>;
}

/** A verified presentation. */
export interface Presented {
  /** The presented warrant (the chain's leaf when a chain was presented). */
  readonly leaf: VerifiedWarrant;
  /** The whole chain, when a `Warrant-Chain` was presented. */
  readonly chain: VerifiedChain | undefined;
  /** The presented warrant's compact text (never log it: `leaf.hash` names it). */
  readonly token: string;
  /** The presenter's public key, proven by the DPoP proof (= the warrant's `cnf` key). */
  readonly presenter: PublicJwk;
  readonly proof: VerifiedDpopProof;
}

/**
 * No credentials at all: RFC 6750 §3.1 answers such a request with a bare challenge (no `error`), the
 * other refusals with an error code.
 */
export class CredentialsMissingError extends WarrantError {
  constructor() {
    super('WARRANT_CREDENTIALS_MISSING', 'a DPoP-bound warrant is required');
  }
}

/**
 * Verifies the credentials of one request: `Authorization: DPoP <warrant>`, exactly one `DPoP` proof,
 * optionally one `Warrant-Chain` ending with the presented warrant, and every link's revocation status.
 * Throws a `WarrantError` (its `code` says what failed); resolves only when everything holds.
 */
export async function verifyPresented(
  request: PresentedRequest,
  options: VerifyPresentedOptions,
): Promise<Presented> {
  const authorization = singleHeader(request.headers, 'authorization', { noComma: true });
  if (authorization === undefined) throw new CredentialsMissingError();
  const space = authorization.indexOf(' ');
  const scheme = authorization.slice(0, space).toLowerCase();
  const token = authorization.slice(space + 1).trim();
  if (scheme !== 'dpop' || token.length === 0)
    throw new WarrantError(
      'WARRANT_CREDENTIALS_MISSING',
      'use Authorization: DPoP <warrant>; bearer warrants are refused',
    );
  // RFC 9449 §4.3: more than one DPoP header fails proof validation.
  const proof = singleHeader(request.headers, 'dpop', {
    noComma: true,
    code: 'WARRANT_DPOP_INVALID',
    message: 'more than one DPoP proof',
  });
  if (proof === undefined) throw new WarrantError('WARRANT_DPOP_INVALID', 'a DPoP proof is required');
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const verifiedProof = await verifyDpopProof(proof, {
    htm: request.method,
    htu: request.htu,
    accessToken: token,
    replay: options.replay,
    now,
  });
  const verifyOptions = {
    keys: options.keys,
    issuer: options.issuer,
    audience: options.audience,
    jkt: verifiedProof.jkt,
    now,
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...(options.peers?.lookup === undefined ? {} : { peers: options.peers.lookup }),
  };
  const chainHeader = singleHeader(request.headers, 'warrant-chain');
  let leaf: VerifiedWarrant;
  let chain: VerifiedChain | undefined;
  if (chainHeader !== undefined) {
    chain = verifyChain(chainHeader, verifyOptions);
    if (chain.leaf.compact !== token)
      throw new WarrantError('WARRANT_CHAIN_MALFORMED', 'the chain does not end with the presented warrant');
    leaf = chain.leaf;
  } else {
    leaf = verifyWarrant(token, verifyOptions);
  }
  await checkRevocation(chain?.links ?? [leaf], options);
  return { leaf, chain, token, presenter: verifiedProof.jwk, proof: verifiedProof };
}

/** Every link must be known unrevoked within the staleness bound; unknown is stale, and stale fails closed. */
async function checkRevocation(
  links: readonly VerifiedWarrant[],
  options: Pick<VerifyPresentedOptions, 'issuer' | 'revocation' | 'peers'>,
): Promise<void> {
  for (const link of links) {
    // A peer's link: the peer's status lists and feed (the chain verified, so the peer is configured).
    const revocation: RevocationStatus | undefined =
      link.claims.iss === options.issuer
        ? options.revocation
        : options.peers?.get(link.claims.iss)?.revocation;
    if (revocation === undefined)
      throw new WarrantError('WARRANT_STATUS_STALE', 'revocation status is unavailable; failing closed');
    const status = link.claims.status;
    if (status && !revocation.has(status.uri)) await revocation.ensure(status.uri);
    const state = revocation.check(link.hash, status);
    if (state === 'revoked')
      throw new WarrantError('WARRANT_TOKEN_REVOKED', 'the warrant or an ancestor is revoked');
    if (state === 'stale')
      throw new WarrantError('WARRANT_STATUS_STALE', 'revocation status is unavailable; failing closed');
  }
}
