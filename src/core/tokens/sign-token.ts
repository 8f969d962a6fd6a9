import type { SigningKey } from '../jose/jwk.ts';
import { signCompact, signCompactAsync } from '../jose/jws.ts';
import { CLAIM_VALIDATORS, type ClaimsByKind } from './claims.ts';
import { type TokenKind, TYP } from './token-types.ts';

/**
 * Signs a token of `kind`. The claims are validated with the same rules a verifier applies, so an issuer
 * cannot mint a token its own verifiers would refuse.
 */
export function signToken<K extends TokenKind>(kind: K, claims: ClaimsByKind[K], key: SigningKey): string {
  CLAIM_VALIDATORS[kind](claims as unknown as Record<string, unknown>);
  return signCompact({ typ: TYP[kind] }, claims as unknown as Record<string, unknown>, key);
}

/** {@link signToken} with the signature made on libuv's thread pool (same bytes, off the event loop). */
export function signTokenAsync<K extends TokenKind>(
  kind: K,
  claims: ClaimsByKind[K],
  key: SigningKey,
): Promise<string> {
  CLAIM_VALIDATORS[kind](claims as unknown as Record<string, unknown>);
  return signCompactAsync({ typ: TYP[kind] }, claims as unknown as Record<string, unknown>, key);
}
