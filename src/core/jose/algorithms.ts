import { Buffer } from 'node:buffer';
import { constants, type KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { servingOne } from '../load.ts';

/** The only signature algorithms Warrant signs or verifies. Anything else (`none`, HS*, RS*) is refused. */
export type Alg = 'EdDSA' | 'ES256';

export interface AlgorithmDescriptor {
  readonly alg: Alg;
  readonly kty: 'OKP' | 'EC';
  readonly crv: 'Ed25519' | 'P-256';
  /** Exact signature length in bytes (P1363 / raw form for ECDSA). */
  readonly signatureLength: number;
  sign(privateKey: KeyObject, data: Uint8Array): Uint8Array;
  /** Plain, standard verification (for ES256 it accepts both s and n - s, as ECDSA does). */
  verify(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean;
  /**
   * `sign` and `verify` on libuv's thread pool (node:crypto with a callback): the same result, off the
   * event loop. The gateway's per-request signatures (DPoP proof, Txn-Token) use these so its main thread
   * is free for other requests while a core of the pool computes (oidc-provider does the same through
   * WebCrypto). With at most one request in flight they compute inline (see src/core/load.ts). A
   * rejection is an error of the key or input, as a throw is for the sync forms.
   */
  signAsync(privateKey: KeyObject, data: Uint8Array): Promise<Uint8Array>;
  verifyAsync(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * Whether `signature` is the one encoding `sign` produces for its signature (EdDSA: always; ES256: low-s,
   * s <= n / 2). Checked only where the token string must be unique (its hash is an identifier); signatures
   * made by other parties' signers (DPoP proofs, client assertions) need not be canonical.
   */
  canonical(signature: Uint8Array): boolean;
}

/** Inline when this process serves one request at a time (see src/core/load.ts). */
const inline = servingOne;

/** `compute` now, as a settled promise (a throw becomes a rejection, as the callback forms report it). */
function settled<T>(compute: () => T): Promise<T> {
  try {
    return Promise.resolve(compute());
  } catch (error) {
    return Promise.reject(error);
  }
}

const EdDSA: AlgorithmDescriptor = {
  alg: 'EdDSA',
  kty: 'OKP',
  crv: 'Ed25519',
  signatureLength: 64,
  sign: (key, data) => new Uint8Array(nodeSign(null, data, key)),
  verify: (key, data, signature) => nodeVerify(null, data, key, signature),
  signAsync: (key, data) =>
    inline()
      ? settled(() => new Uint8Array(nodeSign(null, data, key)))
      : new Promise((resolve, reject) =>
          nodeSign(null, data, key, (error, signature) =>
            error ? reject(error) : resolve(new Uint8Array(signature)),
          ),
        ),
  verifyAsync: (key, data, signature) =>
    inline()
      ? settled(() => nodeVerify(null, data, key, signature))
      : new Promise((resolve, reject) =>
          nodeVerify(null, data, key, signature, (error, ok) => (error ? reject(error) : resolve(ok))),
        ),
  // Ed25519 verification already refuses S >= L, so a signature has one encoding.
  canonical: () => true,
};

/** P-256 group order n, big-endian. */
const P256_ORDER = Uint8Array.from(
  Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex'),
);
/** floor(n / 2), big-endian: the largest low-s value. n is odd, so exactly one of s and n - s is <= this. */
const P256_HALF_ORDER = Uint8Array.from(
  Buffer.from('7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8', 'hex'),
);
const SCALAR_LENGTH = 32;

/** Whether the s half of a 64-byte r||s signature is above n/2 (big-endian compare; usually one byte decides). */
function isHighS(signature: Uint8Array): boolean {
  for (let i = 0; i < SCALAR_LENGTH; i++) {
    const byte = signature[SCALAR_LENGTH + i] as number;
    const half = P256_HALF_ORDER[i] as number;
    if (byte !== half) return byte > half;
  }
  return false;
}

/** Replaces s with n - s in place (32-byte big-endian subtraction with borrow). */
function negateS(signature: Uint8Array): void {
  let borrow = 0;
  for (let i = SCALAR_LENGTH - 1; i >= 0; i--) {
    const diff = (P256_ORDER[i] as number) - (signature[SCALAR_LENGTH + i] as number) - borrow;
    borrow = diff < 0 ? 1 : 0;
    signature[SCALAR_LENGTH + i] = diff & 0xff;
  }
}

/**
 * ECDSA is malleable: (r, n - s) verifies whenever (r, s) does. Warrant wants one token string per signature
 * for the tokens it issues (the token hash is an identifier), so ES256 signs low-s only and `canonical` is
 * the low-s test; `verify` stays the standard one, since most external ECDSA signers do not normalise s.
 */
const ES256: AlgorithmDescriptor = {
  alg: 'ES256',
  kty: 'EC',
  crv: 'P-256',
  signatureLength: 64,
  sign: (key, data) => {
    const signature = new Uint8Array(nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }));
    if (signature.length === 2 * SCALAR_LENGTH && isHighS(signature)) negateS(signature);
    return signature;
  },
  verify: (key, data, signature) => nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature),
  signAsync: (key, data) =>
    inline()
      ? settled(() => ES256.sign(key, data))
      : new Promise((resolve, reject) =>
          nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, (error, raw) => {
            if (error) return reject(error);
            const signature = new Uint8Array(raw);
            if (signature.length === 2 * SCALAR_LENGTH && isHighS(signature)) negateS(signature);
            resolve(signature);
          }),
        ),
  verifyAsync: (key, data, signature) =>
    inline()
      ? settled(() => ES256.verify(key, data, signature))
      : new Promise((resolve, reject) =>
          nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature, (error, ok) =>
            error ? reject(error) : resolve(ok),
          ),
        ),
  canonical: (signature) => signature.length === 2 * SCALAR_LENGTH && !isHighS(signature),
};

export const ALGORITHMS: Readonly<Record<Alg, AlgorithmDescriptor>> = Object.freeze({ EdDSA, ES256 });

export function isAlg(value: unknown): value is Alg {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}

/**
 * The algorithm a JWS header names, with RFC 9864's fully-specified `Ed25519` read as `EdDSA` (the only
 * EdDSA curve accepted). Current OAuth clients (oauth4webapi, openid-client) sign with `Ed25519`.
 * Warrant itself always writes `EdDSA`.
 */
export function algOf(value: unknown): Alg | undefined {
  if (value === 'Ed25519') return 'EdDSA';
  return isAlg(value) ? value : undefined;
}

// ─── algorithms accepted from other parties' signers ─────────────────────────────────────────────────

/**
 * Algorithms Warrant verifies (never signs) for tokens made by other parties: persons' OpenID providers,
 * Kubernetes, SPIFFE issuers. The same seam as Warrant's own: a table of descriptors keyed by `alg`, the key
 * type bound to each, and node's crypto underneath. `none`, HS*, RS384/512, PS384/512, ES512 stay refused.
 */
export type ExternalAlg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface ExternalAlgorithmDescriptor {
  readonly alg: ExternalAlg;
  readonly kty: 'RSA' | 'EC' | 'OKP';
  /** The curve, for EC and OKP keys. */
  readonly crv?: 'P-256' | 'P-384' | 'Ed25519';
  /** The exact signature length in bytes under `key` (RSA: the modulus length; ECDSA: the P1363 form). */
  signatureLength(key: KeyObject): number;
  /** Standard verification; RSA signatures must be exactly the modulus length (RFC 8017 §8.2.2). */
  verify(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean;
}

/** Smallest RSA modulus accepted from another party (RFC 7518 §3.3). */
export const MIN_RSA_BITS = 2048;

const rsaLength = (key: KeyObject): number => Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);

export const EXTERNAL_ALGORITHMS: Readonly<Record<ExternalAlg, ExternalAlgorithmDescriptor>> = Object.freeze({
  RS256: {
    alg: 'RS256',
    kty: 'RSA',
    signatureLength: rsaLength,
    verify: (key, data, signature) =>
      nodeVerify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature),
  },
  PS256: {
    alg: 'PS256',
    kty: 'RSA',
    signatureLength: rsaLength,
    // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
    verify: (key, data, signature) =>
      nodeVerify(
        'sha256',
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      ),
  },
  ES256: {
    alg: 'ES256',
    kty: 'EC',
    crv: 'P-256',
    signatureLength: () => ES256.signatureLength,
    verify: ES256.verify,
  },
  ES384: {
    alg: 'ES384',
    kty: 'EC',
    crv: 'P-384',
    signatureLength: () => 96,
    verify: (key, data, signature) =>
      nodeVerify('sha384', data, { key, dsaEncoding: 'ieee-p1363' }, signature),
  },
  EdDSA: {
    alg: 'EdDSA',
    kty: 'OKP',
    crv: 'Ed25519',
    signatureLength: () => EdDSA.signatureLength,
    verify: EdDSA.verify,
  },
});

/** The external algorithm a JWS header names (`Ed25519` read as `EdDSA`), or undefined when it is not allowed. */
export function externalAlgOf(value: unknown): ExternalAlg | undefined {
  if (value === 'Ed25519') return 'EdDSA';
  return typeof value === 'string' && Object.hasOwn(EXTERNAL_ALGORITHMS, value)
    ? (value as ExternalAlg)
    : undefined;
}
