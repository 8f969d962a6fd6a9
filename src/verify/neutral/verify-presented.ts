/**
 * A whole presentation, runtime-neutral: the same steps as src/verify/verify-presented.ts (the gateway's
 * steps 1–3) — `Authorization: DPoP <warrant>`, exactly one DPoP proof for this method and URI bound to
 * the warrant, the warrant or the `Warrant-Chain` ending with it, and every link's revocation status
 * (unknown or stale fails closed) — on WebCrypto, for edge workers and browsers.
 */

import type { ReplayCache } from '../../core/dpop/replay-cache.ts';
import { WarrantError } from '../../core/errors.ts';
import { type HeaderValues, singleHeader } from '../../http/headers.ts';
import type { RevocationStatus } from '../revocation-status.ts';
import type { NeutralKeyResolver } from './crypto.ts';
import { type NeutralDpopProof, verifyDpopProof } from './dpop.ts';
import {
  type NeutralVerifiedChain,
  type NeutralVerifiedWarrant,
  verifyChain,
  verifyWarrant,
} from './verify-chain.ts';

export interface NeutralPresentedRequest {
  readonly method: string;
  /** The URL as the client addressed it (absolute). */
  readonly htu: string;
  /** Every value of each header by lower-case name (repeats are refused). */
  readonly headers: HeaderValues;
}

export interface NeutralPresentedOptions {
  readonly issuer: string;
  readonly keys: NeutralKeyResolver;
  readonly audience: string;
  readonly replay: ReplayCache;
  readonly revocation: RevocationStatus;
  readonly now?: number;
}

export interface NeutralPresented {
  readonly leaf: NeutralVerifiedWarrant;
  readonly chain: NeutralVerifiedChain | undefined;
  readonly proof: NeutralDpopProof;
}

export async function verifyPresented(
  request: NeutralPresentedRequest,
  options: NeutralPresentedOptions,
): Promise<NeutralPresented> {
  const authorization = singleHeader(request.headers, 'authorization', { noComma: true });
  if (authorization === undefined)
    throw new WarrantError('WARRANT_CREDENTIALS_MISSING', 'a DPoP-bound warrant is required');
  const space = authorization.indexOf(' ');
  const scheme = authorization.slice(0, space).toLowerCase();
  const token = authorization.slice(space + 1).trim();
  if (scheme !== 'dpop' || token.length === 0)
    throw new WarrantError(
      'WARRANT_CREDENTIALS_MISSING',
      'use Authorization: DPoP <warrant>; bearer warrants are refused',
    );
  const proofText = singleHeader(request.headers, 'dpop', {
    noComma: true,
    code: 'WARRANT_DPOP_INVALID',
    message: 'more than one DPoP proof',
  });
  if (proofText === undefined) throw new WarrantError('WARRANT_DPOP_INVALID', 'a DPoP proof is required');
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const proof = await verifyDpopProof(proofText, {
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
    jkt: proof.jkt,
    now,
  };
  const chainHeader = singleHeader(request.headers, 'warrant-chain');
  let chain: NeutralVerifiedChain | undefined;
  let leaf: NeutralVerifiedWarrant;
  if (chainHeader !== undefined) {
    chain = await verifyChain(chainHeader, verifyOptions);
    if (chain.leaf.compact !== token)
      throw new WarrantError('WARRANT_CHAIN_MALFORMED', 'the chain does not end with the presented warrant');
    leaf = chain.leaf;
  } else {
    leaf = await verifyWarrant(token, verifyOptions);
  }
  for (const link of chain?.links ?? [leaf]) {
    const status = link.claims.status;
    if (status && !options.revocation.has(status.uri)) await options.revocation.ensure(status.uri);
    const state = options.revocation.check(link.hash, status);
    if (state === 'revoked')
      throw new WarrantError('WARRANT_TOKEN_REVOKED', 'the warrant or an ancestor is revoked');
    if (state === 'stale')
      throw new WarrantError('WARRANT_STATUS_STALE', 'revocation status is unavailable; failing closed');
  }
  return { leaf, chain, proof };
}
