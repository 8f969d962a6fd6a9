/**
 * What a holder reads of a warrant it was issued: the claims, unverified — the warrant came from the STS
 * over its token endpoint, and every recipient verifies it anyway — and its hash, the stable id the
 * status checks and the STS use.
 */
import { decode } from '../core/jose/base64url.ts';
import { tokenHash } from '../core/jose/hash.ts';

export interface WarrantClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly txn: string;
  readonly scope?: string;
  readonly grants?: readonly unknown[];
  readonly status?: { readonly idx: number; readonly uri: string };
  readonly act?: { readonly sub: string };
  readonly [claim: string]: unknown;
}

/** A warrant as the SDK holds it. */
export interface HeldWarrant {
  /** The compact JWS, for `Authorization: DPoP <token>`. */
  readonly token: string;
  /** Its token hash (SHA-256 of the compact JWS, base64url). */
  readonly hash: string;
  readonly claims: WarrantClaims;
}

export function holdWarrant(token: string): HeldWarrant {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new TypeError('not a compact JWS');
  const claims = JSON.parse(new TextDecoder().decode(decode(payload))) as WarrantClaims;
  if (typeof claims.exp !== 'number' || typeof claims.aud !== 'string')
    throw new TypeError('not a warrant: no exp or aud');
  return { token, hash: tokenHash(token), claims };
}
