/**
 * The signature work DESIGN makes every call pay, on fixed inputs of the real sizes, done as Warrant does it
 * (src/core/jose/algorithms.ts: on libuv's pool while the process serves other requests, inline at one
 * request at a time). Used by the benchmarks' reference rows: the gateway's full-path floor
 * (gateway-proxy.ts) and oidc-provider carrying DESIGN's extra work (oidc-server.ts).
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { ALGORITHMS } from '../../src/core/jose/algorithms.ts';
import { encode } from '../../src/core/jose/base64url.ts';

export interface MandatedSignatures {
  /** One Ed25519 verification of a DPoP-proof-sized signing input. */
  verifyProof(): Promise<void>;
  /** One Ed25519 signature of a Txn-Token-sized input; resolves with the compact token. */
  signTxnToken(): Promise<string>;
}

export function mandatedSignatures(): MandatedSignatures {
  const { EdDSA } = ALGORITHMS;
  const keys = generateKeyPairSync('ed25519');
  const proofInput = Buffer.from(encode(Buffer.alloc(480, 'dpop proof header and claims ')), 'latin1');
  const proofSignature = new Uint8Array(sign(null, proofInput, keys.privateKey));
  const txnInput = encode(Buffer.alloc(900, 'txn-token header and claims '));
  return {
    async verifyProof() {
      if (!(await EdDSA.verifyAsync(keys.publicKey, proofInput, proofSignature)))
        throw new Error('the reference verification failed');
    },
    async signTxnToken() {
      return `${txnInput}.${encode(await EdDSA.signAsync(keys.privateKey, Buffer.from(txnInput, 'latin1')))}`;
    },
  };
}

/** A token-hash-shaped value (43 base64url characters). */
export function randomHash(): string {
  return encode(Buffer.from(`${randomUUID()}${randomUUID()}`.replaceAll('-', '').slice(0, 64), 'hex'));
}
