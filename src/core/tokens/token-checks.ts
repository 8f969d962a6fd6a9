/**
 * The clock and context rules of every verified token, pure (no crypto, no node built-ins) so the
 * runtime-neutral verifier (src/verify/neutral) applies the very same ones.
 */
import { TokenError } from '../errors.ts';
import type { ClaimsByKind } from './claims.ts';
import type { TokenKind } from './token-types.ts';

/** What a verified token is checked against besides its signature and times. */
export interface ContextOptions {
  /** Expected `iss`; when set, any other issuer is refused. */
  readonly issuer?: string | undefined;
  /** Expected audience (exact match; for identity tokens, one of the `aud` values). */
  readonly audience?: string | undefined;
  /** Expected holder key thumbprint: the token's `cnf.jkt` must equal it. */
  readonly jkt?: string | undefined;
}

export interface VerifiedToken<K extends TokenKind> {
  readonly kind: K;
  readonly compact: string;
  /** SHA-256 of the compact JWS, base64url: the token's stable identifier. */
  readonly hash: string;
  readonly kid: string;
  readonly claims: ClaimsByKind[K];
}

export const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * The clock rules every JWT Warrant reads obeys, its own and other parties' alike: not at or past `exp`,
 * not before `nbf`, not issued (`iat`) in the future — each with `clockTolerance` seconds of skew (default 30).
 */
export function checkTimes(
  claims: { iat?: number | undefined; exp?: number | undefined; nbf?: number | undefined },
  options: { now?: number | undefined; clockTolerance?: number | undefined },
): void {
  const now = options.now ?? epochSeconds();
  const skew = options.clockTolerance ?? 30;
  if (claims.exp !== undefined && now - skew >= claims.exp) throw new TokenError('WARRANT_TOKEN_EXPIRED');
  if (claims.nbf !== undefined && now + skew < claims.nbf)
    throw new TokenError('WARRANT_TOKEN_NOT_YET_VALID');
  if (claims.iat !== undefined && now + skew < claims.iat)
    throw new TokenError('WARRANT_TOKEN_NOT_YET_VALID', 'token was issued in the future');
}

export function checkContext(token: VerifiedToken<TokenKind>, options: ContextOptions): void {
  const c = token.claims as { iss: string; aud?: string | readonly string[]; cnf?: { jkt: string } };
  if (options.issuer !== undefined && c.iss !== options.issuer)
    throw new TokenError('WARRANT_ISSUER_MISMATCH');
  if (options.audience !== undefined) {
    const ok =
      typeof c.aud === 'string' ? c.aud === options.audience : (c.aud?.includes(options.audience) ?? false);
    if (!ok) throw new TokenError('WARRANT_AUDIENCE_MISMATCH');
  }
  if (options.jkt !== undefined && c.cnf?.jkt !== options.jkt) throw new TokenError('WARRANT_CNF_MISMATCH');
}
