import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KeyError } from '../errors.ts';
import { ALGORITHMS, type Alg, type AlgorithmDescriptor, algOf, isAlg } from './algorithms.ts';
import { decode, encode, isCanonical } from './base64url.ts';
import { sha256 } from './hash.ts';

export type PublicJwk =
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; kid?: string; alg?: Alg; use?: 'sig' }
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid?: string; alg?: Alg; use?: 'sig' };

export type PrivateJwk = PublicJwk & { d: string };

/** A public key bound to exactly one algorithm; `kid` is its RFC 7638 thumbprint. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly jwk: Readonly<PublicJwk>;
  readonly keyObject: KeyObject;
}

export interface SigningKey extends VerificationKey {
  readonly privateKey: KeyObject;
}

export { isThumbprintShape } from './kid.ts';

function descriptorFor(jwk: Record<string, unknown>, alg?: Alg): AlgorithmDescriptor {
  const jwkAlg = jwk['alg'] === undefined ? undefined : (algOf(jwk['alg']) ?? jwk['alg']);
  const wanted = alg ?? jwkAlg;
  if (wanted !== undefined && !isAlg(wanted))
    throw new KeyError('WARRANT_KEY_INVALID', 'unsupported key algorithm');
  const byCurve = Object.values(ALGORITHMS).find((d) => d.kty === jwk['kty'] && d.crv === jwk['crv']);
  if (!byCurve) throw new KeyError('WARRANT_KEY_INVALID', 'unsupported key type or curve');
  if (wanted !== undefined && wanted !== byCurve.alg) {
    throw new KeyError('WARRANT_KEY_INVALID', `key type does not match algorithm ${String(wanted)}`);
  }
  if (jwkAlg !== undefined && jwkAlg !== byCurve.alg) {
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK alg does not match its key type');
  }
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig')
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK use is not sig');
  const ops = jwk['key_ops'];
  if (
    ops !== undefined &&
    (!Array.isArray(ops) ||
      ops.length === 0 ||
      new Set(ops).size !== ops.length ||
      ops.some((op) => op !== 'sign' && op !== 'verify'))
  ) {
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK key_ops is not a list of sign and/or verify');
  }
  return byCurve;
}

function coordinate(jwk: Record<string, unknown>, name: 'x' | 'y' | 'd', length: number): string {
  const value = jwk[name];
  if (typeof value !== 'string' || !isCanonical(value) || decode(value).length !== length) {
    throw new KeyError(
      'WARRANT_KEY_INVALID',
      `JWK member ${name} is not ${length} bytes of canonical base64url`,
    );
  }
  return value;
}

function publicMembers(jwk: Record<string, unknown>, d: AlgorithmDescriptor): PublicJwk {
  if (d.kty === 'OKP') return { kty: 'OKP', crv: 'Ed25519', x: coordinate(jwk, 'x', 32) };
  return { kty: 'EC', crv: 'P-256', x: coordinate(jwk, 'x', 32), y: coordinate(jwk, 'y', 32) };
}

/** RFC 7638 thumbprint (SHA-256, base64url) over the required members in lexicographic order. */
export function thumbprint(jwk: PublicJwk): string {
  const canonical =
    jwk.kty === 'OKP'
      ? `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`
      : `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
  return encode(sha256(canonical));
}

function asRecord(jwk: unknown): Record<string, unknown> {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK is not an object');
  }
  return jwk as Record<string, unknown>;
}

/**
 * Imports a public JWK bound to one algorithm. A `kid` in the JWK is ignored: the kid is always the
 * thumbprint, so a key set cannot be confused by a chosen kid. Private members are refused.
 */
export function importPublicJwk(input: unknown, alg?: Alg): VerificationKey {
  const jwk = asRecord(input);
  if ('d' in jwk)
    throw new KeyError('WARRANT_KEY_INVALID', 'a public key was expected but the JWK has private member d');
  const d = descriptorFor(jwk, alg);
  const pub = publicMembers(jwk, d);
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: pub, format: 'jwk' });
  } catch (cause) {
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK is not a valid public key', { cause });
  }
  const kid = thumbprint(pub);
  return Object.freeze({
    kid,
    alg: d.alg,
    jwk: Object.freeze({ ...pub, kid, alg: d.alg, use: 'sig' as const }),
    keyObject,
  });
}

/** Imports a private JWK; the public half must match the private scalar. */
export function importPrivateJwk(input: unknown, alg?: Alg): SigningKey {
  const jwk = asRecord(input);
  const d = descriptorFor(jwk, alg);
  const pub = publicMembers(jwk, d);
  const dValue = coordinate(jwk, 'd', 32);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { ...pub, d: dValue }, format: 'jwk' });
  } catch (cause) {
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK is not a valid private key', { cause });
  }
  const derived = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  if (derived['x'] !== pub.x || (pub.kty === 'EC' && derived['y'] !== pub.y)) {
    throw new KeyError('WARRANT_KEY_INVALID', 'JWK public members do not match its private member');
  }
  const verification = importPublicJwk(pub, d.alg);
  return Object.freeze({ ...verification, privateKey });
}

/** A fresh key pair for `alg` (Ed25519 by default). */
export function generateSigningKey(alg: Alg = 'EdDSA'): SigningKey {
  const { privateKey } =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return importPrivateJwk(privateKey.export({ format: 'jwk' }), alg);
}

/** The private JWK of a signing key, for storage with 0600 permissions. Never log it. */
export function exportPrivateJwk(key: SigningKey): PrivateJwk {
  const raw = key.privateKey.export({ format: 'jwk' }) as { d: string };
  return { ...key.jwk, d: raw.d } as PrivateJwk;
}
