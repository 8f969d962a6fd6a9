/**
 * Remembers what has been verified, keyed by token (or chain) hash, until the earliest `exp` involved.
 * Only context-free results are stored (signature, kind, claims, chain rules); audience, holder key and
 * time are re-checked on every use. Bounded: the oldest entry is dropped past `maxEntries`.
 */
export class VerifiedCache<V> {
  readonly #entries = new Map<string, { value: V; exp: number }>();
  readonly #maxEntries: number;
  hits = 0;
  misses = 0;

  constructor(maxEntries = 10_000) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new TypeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  get(hash: string, now: number): V | undefined {
    const entry = this.#entries.get(hash);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (entry.exp <= now) {
      this.#entries.delete(hash);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.value;
  }

  set(hash: string, value: V, exp: number): void {
    if (this.#entries.size >= this.#maxEntries && !this.#entries.has(hash)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(hash, { value, exp });
  }

  /** Drops everything, e.g. after the trusted key set changed. */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
