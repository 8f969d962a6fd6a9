import type { KeyResolver } from '../core/jose/jws.ts';
import { KeySet } from '../core/jose/key-set.ts';

/**
 * The STS key set as seen by a recipient in another process (a gateway, a receiver): fetched from the
 * issuer's JWKS, and fetched again — at most every 10 s — when a token names a kid it does not know yet
 * (a key rotation). An unknown kid resolves to nothing meanwhile: the token is refused, never trusted.
 */
export class RemoteKeys {
  readonly #url: string;
  #keys = new KeySet();
  #fetchedAt = 0;
  #inflight: Promise<void> | undefined;

  /** `url` defaults to the STS's `<issuer>/jwks`; a gateway's Txn-Token keys live elsewhere. */
  constructor(issuer: string, url = `${issuer}/jwks`) {
    this.#url = url;
  }

  async refresh(): Promise<void> {
    this.#inflight ??= (async () => {
      try {
        const response = await fetch(this.#url, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) throw new Error(`JWKS fetch answered ${response.status}`);
        this.#keys = KeySet.fromJwks(await response.json());
        this.#fetchedAt = Date.now();
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  readonly resolve: KeyResolver = (kid) => {
    const key = this.#keys.get(kid);
    if (key === undefined && Date.now() - this.#fetchedAt > 10_000) void this.refresh().catch(() => {});
    return key;
  };
}
