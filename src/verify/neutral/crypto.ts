/**
 * Keys, signatures and hashes on WebCrypto (`globalThis.crypto.subtle`: browsers, Deno, Bun, edge workers
 * and Node alike) for the runtime-neutral verifier. The same rules as src/core/jose: keys bound to one
 * algorithm (EdDSA on Ed25519, ES256 on P-256), `kid` = RFC 7638 thumbprint, exact signature lengths, ES256
 * signatures of Warrant's own tokens in their canonical low-s form.
 */
import { JwsError, KeyError } from '../../core/errors.ts';
import { isThumbprintShape } from '../../core/jose/kid.ts';
import { decode, encode } from './base64url.ts';

export type Alg = 'EdDSA' | 'ES256';

/** WebCrypto's types, read off the global (this package compiles without the DOM library). */
type Subtle = typeof globalThis.crypto.subtle;
export type WebCryptoKey = Awaited<ReturnType<Subtle['importKey']>>;

export interface NeutralKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly key: WebCryptoKey;
}

/** Resolves the trusted key for a `kid` (thumbprint-shaped kids only). */
export type NeutralKeyResolver = (kid: string | undefined) => NeutralKey | undefined;

const subtle = (): Subtle => globalThis.crypto.subtle;

export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

/** SHA-256 over the exact ASCII of a compact JWS, base64url: the token's identifier (as tokenHash). */
export async function tokenHash(compact: string): Promise<string> {
  return encode(await sha256(compact));
}

function coordinate(jwk: Record<string, unknown>, name: 'x' | 'y'): string {
  const value = jwk[name];
  if (typeof value !== 'string' || decode(value, `JWK ${name}`).length !== 32)
    throw new KeyError('WARRANT_KEY_INVALID', `JWK member ${name} is not 32 bytes of canonical base64url`);
  return value;
}

/** Imports one public JWK (EdDSA/Ed25519 or ES256/P-256); its kid is its RFC 7638 thumbprint. */
export async function importPublicJwk(input: unknown): Promise<NeutralKey> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK is not an object');
  const jwk = input as Record<string, unknown>;
  if (Object.hasOwn(jwk, 'd')) throw new KeyError('WARRANT_KEY_INVALID', 'JWK carries a private key');
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig')
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK use is not sig');
  let alg: Alg;
  let canonical: string;
  let members: Record<string, string>;
  if (jwk['kty'] === 'OKP' && jwk['crv'] === 'Ed25519') {
    alg = 'EdDSA';
    const x = coordinate(jwk, 'x');
    canonical = `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`;
    members = { kty: 'OKP', crv: 'Ed25519', x };
  } else if (jwk['kty'] === 'EC' && jwk['crv'] === 'P-256') {
    alg = 'ES256';
    const x = coordinate(jwk, 'x');
    const y = coordinate(jwk, 'y');
    canonical = `{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`;
    members = { kty: 'EC', crv: 'P-256', x, y };
  } else {
    throw new KeyError('WARRANT_KEY_INVALID', 'unsupported key type or curve');
  }
  const named = jwk['alg'] === 'Ed25519' ? 'EdDSA' : jwk['alg'];
  if (named !== undefined && named !== alg)
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK alg does not match its key type');
  const algorithm = alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
  let key: WebCryptoKey;
  try {
    key = await subtle().importKey('jwk', members, algorithm, false, ['verify']);
  } catch (cause) {
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK is not a valid public key', { cause });
  }
  return { kid: encode(await sha256(canonical)), alg, key };
}

/** A resolver over a JWKS document (`{keys: [...]}`), e.g. the STS's `/jwks`. */
export async function importJwks(jwks: unknown): Promise<NeutralKeyResolver> {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys))
    throw new KeyError('WARRANT_KEY_INVALID', 'JWKS has no keys array');
  const keys = new Map<string, NeutralKey>();
  for (const jwk of (jwks as { keys: unknown[] }).keys) {
    const key = await importPublicJwk(jwk);
    keys.set(key.kid, key);
  }
  return (kid) => (isThumbprintShape(kid) ? keys.get(kid) : undefined);
}

/** floor(n / 2) of the P-256 group order, big-endian: the largest low-s value. */
const P256_HALF_ORDER = decode('f____4AAAAB__________95zfVbTi89CedzlYX4xkqg', 'constant');

function isHighS(signature: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const byte = signature[32 + i]!;
    const half = P256_HALF_ORDER[i]!;
    if (byte !== half) return byte > half;
  }
  return false;
}

/** Verifies a signature under `key`: exact length (64 bytes), canonical low-s for ES256, then WebCrypto. */
export async function verifySignature(
  key: NeutralKey,
  signingInput: Uint8Array,
  signature: Uint8Array,
  options: { canonical?: boolean } = {},
): Promise<void> {
  if (signature.length !== 64)
    throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID', 'signature has the wrong length');
  if (key.alg === 'ES256' && (options.canonical ?? true) && isHighS(signature))
    throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID', 'signature is not in its canonical (low-s) form');
  const algorithm = key.alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
  let ok = false;
  try {
    ok = await subtle().verify(algorithm, key.key as never, signature as never, signingInput as never);
  } catch {
    ok = false;
  }
  if (!ok) throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID');
}
