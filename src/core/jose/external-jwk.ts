import { createPublicKey, type KeyObject } from 'node:crypto';
import { KeyError } from '../errors.ts';
import { EXTERNAL_ALGORITHMS, type ExternalAlg, externalAlgOf, MIN_RSA_BITS } from './algorithms.ts';
import { decode, isCanonical } from './base64url.ts';

/**
 * A public key of another party (a person's OpenID provider, a Kubernetes or SPIFFE issuer), taken from the
 * JWKS configured for that issuer — never from a token. Bound to the algorithms its type allows: the JWK's
 * own `alg` when it has one, else every external algorithm of its key type (RSA: RS256 and PS256).
 */
export interface ExternalKey {
  /** The issuer's `kid` for the key, as published (any string). */
  readonly kid: string | undefined;
  readonly algs: readonly ExternalAlg[];
  readonly keyObject: KeyObject;
}

/** JWK members only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const invalid = (message: string, cause?: unknown) =>
  new KeyError('WARRANT_KEY_INVALID', message, cause === undefined ? undefined : { cause });

function member(jwk: Record<string, unknown>, name: string): string {
  const value = jwk[name];
  if (typeof value !== 'string' || value.length === 0 || !isCanonical(value))
    throw invalid(`JWK member ${name} is not canonical base64url`);
  return value;
}

/** The algorithms of the table whose key type (and curve) this JWK has. */
function algorithmsFor(jwk: Record<string, unknown>): ExternalAlg[] {
  return Object.values(EXTERNAL_ALGORITHMS)
    .filter((d) => d.kty === jwk['kty'] && (d.crv === undefined || d.crv === jwk['crv']))
    .map((d) => d.alg);
}

/**
 * Imports one public JWK of another party. Refused: private or symmetric members, an unsupported key type
 * or curve, RSA below 2048 bits, `use` other than `sig`, `key_ops` without `verify`, an `alg` outside the
 * external allowlist or not matching the key type.
 */
export function importExternalJwk(input: unknown): ExternalKey {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid('JWK is not an object');
  const jwk = input as Record<string, unknown>;
  for (const name of PRIVATE_MEMBERS) {
    if (Object.hasOwn(jwk, name)) throw invalid(`a public key was expected but the JWK has member ${name}`);
  }
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') throw invalid('JWK use is not sig');
  const ops = jwk['key_ops'];
  if (ops !== undefined && (!Array.isArray(ops) || !ops.includes('verify')))
    throw invalid('JWK key_ops does not allow verify');
  const kid = jwk['kid'];
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256))
    throw invalid('JWK kid is not a string of 1..256 characters');
  let algs = algorithmsFor(jwk);
  if (algs.length === 0) throw invalid('unsupported key type or curve');
  if (jwk['alg'] !== undefined) {
    const alg = externalAlgOf(jwk['alg']);
    if (alg === undefined || !algs.includes(alg))
      throw invalid('JWK alg is not allowed or does not match its key type');
    algs = [alg];
  }
  const pub: Record<string, string> =
    jwk['kty'] === 'RSA'
      ? { kty: 'RSA', n: member(jwk, 'n'), e: member(jwk, 'e') }
      : jwk['kty'] === 'EC'
        ? { kty: 'EC', crv: jwk['crv'] as string, x: member(jwk, 'x'), y: member(jwk, 'y') }
        : { kty: 'OKP', crv: 'Ed25519', x: member(jwk, 'x') };
  if (pub['kty'] === 'RSA' && decode(pub['n']!).length * 8 < MIN_RSA_BITS)
    throw invalid(`RSA keys must have at least ${MIN_RSA_BITS} bits`);
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: pub, format: 'jwk' });
  } catch (cause) {
    throw invalid('JWK is not a valid public key', cause);
  }
  if (pub['kty'] === 'RSA' && (keyObject.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS)
    throw invalid(`RSA keys must have at least ${MIN_RSA_BITS} bits`);
  return Object.freeze({ kid: kid as string | undefined, algs: Object.freeze(algs), keyObject });
}

/**
 * The usable signing keys of a JWKS document. Keys that cannot verify an allowed algorithm (encryption keys,
 * RS512, secp256k1, malformed members) are skipped, as RFC 7517 §5 lets a reader do; a document that is not
 * `{keys: [...]}` is refused.
 */
export function importExternalJwks(jwks: unknown): ExternalKey[] {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys))
    throw invalid('JWKS has no keys array');
  const keys: ExternalKey[] = [];
  for (const jwk of (jwks as { keys: unknown[] }).keys) {
    try {
      keys.push(importExternalJwk(jwk));
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
    }
  }
  return keys;
}
