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

  /**
   * Fetches the JWKS again every `ms` (and at once) until `stop`: with several STS replicas a rotated key
   * is published `activationDelaySeconds` before it signs, and a gateway re-reading every third of that
   * knows it before the first token it signs arrives. A failed fetch keeps the keys held.
   */
  every(ms: number): { stop(): void } {
    const timer = setInterval(() => void this.refresh().catch(() => {}), ms);
    timer.unref();
    return { stop: () => clearInterval(timer) };
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
