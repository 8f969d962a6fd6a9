import { Buffer } from 'node:buffer';
import { isWarrantError } from '../../src/core/errors.ts';
import { ALGORITHMS, type Alg } from '../../src/core/jose/algorithms.ts';
import type { VerificationKey } from '../../src/core/jose/jwk.ts';
import { type ParsedJws, type VerifyOptions, verifyParsed } from '../../src/core/jose/jws.ts';

/**
 * What `verifyParsed` decides for a raw (message, signature) pair under `key`: `true`, or the error code.
 * The message stands in for the JWS signing input, so the exact-length rule, the canonical-encoding rule
 * (on by default, as for every token Warrant issues) and the verify call are the production ones.
 */
export function verdictOfVerifyParsed(
  key: VerificationKey,
  msg: Uint8Array,
  sig: Uint8Array,
  options?: VerifyOptions,
): true | string {
  const jws: ParsedJws = {
    compact: '',
    header: { alg: key.alg },
    payload: msg,
    claims: {},
    signingInput: msg,
    signature: sig,
  };
  try {
    verifyParsed(jws, () => key, options);
    return true;
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    return error.code;
  }
}

/**
 * The bare algorithm descriptor plus the exact-length rule; a throwing verify counts as a rejection. This is
 * plain verification (no canonical-encoding rule): for ES256 it accepts high-s, as ECDSA does.
 */
export function verdictOfDescriptor(
  alg: Alg,
  key: VerificationKey,
  msg: Uint8Array,
  sig: Uint8Array,
): boolean {
  const descriptor = ALGORITHMS[alg];
  if (sig.length !== descriptor.signatureLength) return false;
  try {
    return descriptor.verify(key.keyObject, msg, sig);
  } catch {
    return false;
  }
}

/**
 * The one reason a Wycheproof `valid` ECDSA case may be refused by `verifyParsed` (canonical by default):
 * Warrant's low-s rule. The descriptor itself accepts such cases.
 */
export const HIGH_S_REASON =
  'high-s ECDSA signature (Warrant requires low-s so each signature has one encoding)';

/** P-256 group order n. */
export const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/**
 * Whether a raw r||s P-256 signature has s > floor(n / 2), computed here from the signature itself with
 * BigInt (independently of the production byte compare). Only a 64-byte signature has an s to judge.
 */
export function isHighSP256(sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  return BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`) > P256_N >> 1n;
}

/** The (r, n - s) twin of a raw r||s P-256 signature: the other encoding ECDSA itself accepts. */
export function twinP256(sig: Uint8Array): Uint8Array {
  const s = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
  const mirrored = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
  return Uint8Array.from(Buffer.concat([sig.subarray(0, 32), mirrored]));
}
