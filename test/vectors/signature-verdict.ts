import { isWarrantError } from '../../src/core/errors.ts';
import { ALGORITHMS, type Alg } from '../../src/core/jose/algorithms.ts';
import type { VerificationKey } from '../../src/core/jose/jwk.ts';
import { type ParsedJws, verifyParsed } from '../../src/core/jose/jws.ts';

/**
 * What `verifyParsed` decides for a raw (message, signature) pair under `key`: `true`, or the error code.
 * The message stands in for the JWS signing input, so the exact-length rule and the verify call are the
 * production ones.
 */
export function verdictOfVerifyParsed(key: VerificationKey, msg: Uint8Array, sig: Uint8Array): true | string {
  const jws: ParsedJws = {
    compact: '',
    header: { alg: key.alg },
    payload: msg,
    claims: {},
    signingInput: msg,
    signature: sig,
  };
  try {
    verifyParsed(jws, () => key);
    return true;
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    return error.code;
  }
}

/** The bare algorithm descriptor plus the exact-length rule; a throwing verify counts as a rejection. */
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
