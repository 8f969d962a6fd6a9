import { type ErrorCode, WarrantError } from '../errors.ts';

export type DpopErrorCode = Extract<ErrorCode, `WARRANT_DPOP_${string}`>;

/**
 * A DPoP proof (RFC 9449) is not acceptable for this request. `WARRANT_DPOP_NONCE_REQUIRED` is its own
 * code so a server can answer `error="use_dpop_nonce"` with a fresh `DPoP-Nonce`; every other code maps
 * to `invalid_dpop_proof`.
 */
export class DpopError extends WarrantError {
  declare readonly code: DpopErrorCode;

  constructor(code: DpopErrorCode, message?: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
