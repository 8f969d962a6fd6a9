/** The revocation port of a recipient: pure types, shared by the Node and the runtime-neutral verifiers. */

export type RevocationState = 'valid' | 'revoked' | 'stale';

/**
 * What a recipient asks of its revocation data for each presented warrant (`RevocationView` is one):
 * `check` answers synchronously from what is loaded, so the hot path awaits nothing; `ensure` loads a
 * status list seen for the first time.
 */
export interface RevocationStatus {
  /** Whether the status list `uri` is loaded. */
  has(uri: string): boolean;
  /** Loads a status list not seen yet (when the view trusts its URI); resolves either way. */
  ensure(uri: string): Promise<void>;
  /** The state of one warrant, from its hash and its `status` claim. */
  check(hash: string, status: { readonly idx: number; readonly uri: string } | undefined): RevocationState;
}
