/**
 * The replay-cache port: remembers single-use identifiers (DPoP `jti`s, approval ids, assertion `jti`s)
 * until they expire. One contract suite (`contract.ts`) runs against every adapter.
 */
export interface ReplayCache {
  /**
   * Records `key` until `expiresAtEpochSeconds`. Resolves `true` the first time a key is seen (or when its
   * previous record has expired) and `false` while an earlier record of the same key is still live.
   * An expiry that is already past records nothing and resolves `true`: such an identifier can no longer
   * be accepted by its verifier anyway. An adapter that cannot answer rejects; callers fail closed.
   */
  consume(key: string, expiresAtEpochSeconds: number): Promise<boolean>;
  /** Releases timers and connections the adapter owns. */
  close?(): Promise<void>;
}

/** Longest key accepted by every adapter; DPoP keys are `dpop:<43-char jkt>:<jti up to 256>`. */
export const MAX_REPLAY_KEY_LENGTH = 512;

/** Shared argument checks: caller mistakes are `TypeError`s, never a silent `true`. */
export function checkConsumeArguments(key: unknown, expiresAtEpochSeconds: unknown): void {
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
}
