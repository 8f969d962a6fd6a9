import { type KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';

/** The only signature algorithms Warrant signs or verifies. Anything else (`none`, HS*, RS*) is refused. */
export type Alg = 'EdDSA' | 'ES256';

export interface AlgorithmDescriptor {
  readonly alg: Alg;
  readonly kty: 'OKP' | 'EC';
  readonly crv: 'Ed25519' | 'P-256';
  /** Exact signature length in bytes (P1363 / raw form for ECDSA). */
  readonly signatureLength: number;
  sign(privateKey: KeyObject, data: Uint8Array): Uint8Array;
  verify(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean;
}

const EdDSA: AlgorithmDescriptor = {
  alg: 'EdDSA',
  kty: 'OKP',
  crv: 'Ed25519',
  signatureLength: 64,
  sign: (key, data) => new Uint8Array(nodeSign(null, data, key)),
  verify: (key, data, signature) => nodeVerify(null, data, key, signature),
};

const ES256: AlgorithmDescriptor = {
  alg: 'ES256',
  kty: 'EC',
  crv: 'P-256',
  signatureLength: 64,
  sign: (key, data) => new Uint8Array(nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })),
  verify: (key, data, signature) => nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature),
};

export const ALGORITHMS: Readonly<Record<Alg, AlgorithmDescriptor>> = Object.freeze({ EdDSA, ES256 });

export function isAlg(value: unknown): value is Alg {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}
