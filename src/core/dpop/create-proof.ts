import { randomBytes } from 'node:crypto';
import { encode } from '../jose/base64url.ts';
import { tokenHash } from '../jose/hash.ts';
import type { SigningKey } from '../jose/jwk.ts';
import { signCompact } from '../jose/jws.ts';
import { DPOP_TYP } from '../tokens/token-types.ts';
import { htuForm } from './htu.ts';
import { publicJwkMembers } from './public-jwk.ts';

export interface CreateDpopProofOptions {
  /** The holder's key; its public half goes into the header as `jwk`. */
  key: SigningKey;
  /** The HTTP method of the request, exactly as sent (`GET`, `POST`). */
  htm: string;
  /** The request URI; its query and fragment are dropped, as RFC 9449 §4.2 requires. */
  htu: string;
  /** The access token (warrant) the request carries; binds the proof to it with `ath`. */
  accessToken?: string;
  /** The latest `DPoP-Nonce` the server handed out. */
  nonce?: string;
  /** Epoch seconds (default: the clock). */
  now?: number;
  /** Default: 128 random bits, base64url. */
  jti?: string;
}

/** Creates a DPoP proof JWT (RFC 9449 §4.2) for one HTTP request. */
export function createDpopProof(options: CreateDpopProofOptions): string {
  const {
    key,
    htm,
    htu,
    accessToken,
    nonce,
    now = Math.floor(Date.now() / 1000),
    jti = encode(randomBytes(16)),
  } = options;
  if (!key || typeof key !== 'object' || !key.privateKey) throw new TypeError('key must be a signing key');
  if (typeof htm !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(htm))
    throw new TypeError('htm must be an HTTP method');
  const form = typeof htu === 'string' ? htuForm(htu) : undefined;
  if (form === undefined) throw new TypeError('htu must be an absolute http(s) URI');
  if (!Number.isFinite(now)) throw new TypeError('now must be epoch seconds');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    throw new TypeError('jti must be 1..256 characters');
  if (accessToken !== undefined && (typeof accessToken !== 'string' || accessToken.length === 0)) {
    throw new TypeError('accessToken must be a non-empty string');
  }
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length === 0))
    throw new TypeError('nonce must be a non-empty string');

  const claims: Record<string, unknown> = { jti, htm, htu: form, iat: Math.floor(now) };
  if (accessToken !== undefined) claims['ath'] = tokenHash(accessToken);
  if (nonce !== undefined) claims['nonce'] = nonce;
  return signCompact({ typ: DPOP_TYP, jwk: publicJwkMembers(key.jwk) }, claims, key, { kid: false });
}
