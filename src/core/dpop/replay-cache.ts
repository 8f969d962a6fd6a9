/**
 * The replay-cache port: remembers single-use identifiers (DPoP `jti`s, approval ids, assertion `jti`s)
 * until they expire. One contract suite (`replay-cache-contract.ts`) runs against every adapter: the
 * in-process one beside this file, Redis in `src/replay/`.
 */
export interface ReplayCache {
  /**
   * Records `key` until `expiresAtEpochSeconds`. Resolves `true` the first time a key is seen (or when its
   * previous record has expired) and `false` while an earlier record of the same key is still live.
   * An expiry that is already past records nothing and resolves `true`: such an identifier can no longer
   * be accepted by its verifier anyway.
   *
   * `validFromEpochSeconds` is the earliest moment a verifier would have accepted the identifier (a DPoP
   * proof's `iat` minus the clock tolerance). An adapter that can lose its memory while the process runs
   * (Redis restarted or flushed) refuses, with `ReplayStateLostError`, every key valid from before the
   * loss: such a key may have been consumed before it, and its record is gone.
   *
   * An adapter that cannot answer rejects (`HotStateUnavailableError` for a store that is down or slow);
   * callers fail closed.
   */
  consume(key: string, expiresAtEpochSeconds: number, validFromEpochSeconds: number): Promise<boolean>;
  /** Resolves when the adapter can answer now, rejects otherwise (readiness probes). */
  ping?(): Promise<void>;
  /** Releases timers and connections the adapter owns. */
  close?(): Promise<void>;
}

/** Longest key accepted by every adapter; DPoP keys are `dpop:<43-char jkt>:<jti up to 256>`. */
export const MAX_REPLAY_KEY_LENGTH = 512;

/** Shared argument checks: caller mistakes are `TypeError`s, never a silent `true`. */
export function checkConsumeArguments(
  key: unknown,
  expiresAtEpochSeconds: unknown,
  validFromEpochSeconds: unknown,
): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_REPLAY_KEY_LENGTH) {
    throw new TypeError(`replay key must be a string of 1..${MAX_REPLAY_KEY_LENGTH} characters`);
  }
  if (
    typeof expiresAtEpochSeconds !== 'number' ||
    !Number.isFinite(expiresAtEpochSeconds) ||
    expiresAtEpochSeconds <= 0
  ) {
    throw new TypeError('expiresAtEpochSeconds must be a positive finite number');
  }
  if (typeof validFromEpochSeconds !== 'number' || !Number.isFinite(validFromEpochSeconds)) {
    throw new TypeError('validFromEpochSeconds must be a finite number');
  }
}
