import { TokenError } from '../errors.ts';
import { tokenHash } from '../jose/hash.ts';
import { type KeyResolver, parseCompact, verifyParsed } from '../jose/jws.ts';
import { CLAIM_VALIDATORS, type ClaimsByKind } from './claims.ts';
import { checkContext, checkTimes, epochSeconds, type VerifiedToken } from './token-checks.ts';
import { type TokenKind, TYP } from './token-types.ts';

export type { VerifiedToken };
export { checkContext, checkTimes, epochSeconds };

export interface VerifyTokenOptions {
  /** Trusted keys, looked up by `kid` only. */
  readonly keys: KeyResolver;
  /** Expected `iss`; when set, any other issuer is refused. */
  readonly issuer?: string;
  /** Expected audience (exact match; for identity tokens, one of the `aud` values). */
  readonly audience?: string;
  /** Expected holder key thumbprint: the token's `cnf.jkt` must equal it. */
  readonly jkt?: string;
  /** Current time in epoch seconds (defaults to the clock). */
  readonly now?: number;
  /** Allowed clock skew in seconds (default 30). */
  readonly clockTolerance?: number;
}

/**
 * Verifies one token of a given kind: strict JWS parse, signature under a trusted key bound to its `alg`,
 * the kind's explicit `typ`, the kind's claims (and none of another kind's), then times and context.
 */
export function verifyToken<K extends TokenKind>(
  kind: K,
  compact: unknown,
  options: VerifyTokenOptions,
): VerifiedToken<K> {
  const parsed = parseCompact(compact);
  const key = verifyParsed(parsed, options.keys);
  const typ = parsed.header['typ'];
  if (typ !== TYP[kind]) {
    throw new TokenError(
      'WARRANT_TOKEN_TYPE_MISMATCH',
      `expected typ ${TYP[kind]}, got ${typeof typ === 'string' ? typ.slice(0, 40) : 'none'}`,
    );
  }
  const claims = CLAIM_VALIDATORS[kind](parsed.claims as Record<string, unknown>) as ClaimsByKind[K];
  const verified: VerifiedToken<K> = Object.freeze({
    kind,
    compact: parsed.compact,
    hash: tokenHash(parsed.compact),
    kid: key.kid,
    claims,
  });
  checkTimes(claims as { iat: number; exp?: number; nbf?: number }, options);
  checkContext(verified, options);
  return verified;
}

export interface NumericDates {
  readonly iat: number | undefined;
  readonly exp: number | undefined;
  readonly nbf: number | undefined;
}

/**
 * Reads `iat`, `exp` and `nbf` of a JWT made by another party (RFC 7519 NumericDate: a finite, non-negative
 * JSON number, fractions allowed) and applies `checkTimes`. `required` names the ones that must be present.
 * Throws `TokenError`: `WARRANT_CLAIM_MISSING`, `WARRANT_CLAIM_INVALID`, or a time code.
 */
export function checkNumericDates(
  claims: Readonly<Record<string, unknown>>,
  required: readonly ('iat' | 'exp' | 'nbf')[],
  options: { now?: number | undefined; clockTolerance?: number | undefined },
): NumericDates {
  const read = (name: 'iat' | 'exp' | 'nbf'): number | undefined => {
    const value = claims[name];
    if (value === undefined) {
      if (required.includes(name)) throw new TokenError('WARRANT_CLAIM_MISSING', `claim ${name} is missing`);
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new TokenError('WARRANT_CLAIM_INVALID', `claim ${name} must be a NumericDate`);
    return value;
  };
  const dates = { iat: read('iat'), exp: read('exp'), nbf: read('nbf') };
  checkTimes(dates, options);
  return dates;
}
