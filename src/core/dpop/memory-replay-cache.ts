import { checkConsumeArguments, type ReplayCache } from './replay-cache.ts';

export interface MemoryReplayCacheOptions {
  /** Most live entries held at once (default 500 000, about 65 s of DPoP proofs at 7 500 requests/s). */
  maxEntries?: number;
  /** Milliseconds between background sweeps of expired entries (default 30 000); 0 disables the timer. */
  sweepIntervalMs?: number;
  /** The clock, in epoch seconds (tests freeze it). */
  now?: () => number;
}

const epochSeconds = (): number => Date.now() / 1000;

/**
 * An in-process replay cache for the one-machine default.
 *
 * Expiry is lazy (a consume of an expired key replaces it) plus a periodic sweep. The cache is bounded:
 * when it is full it first drops expired entries; if it is still full it **fails closed** — it answers
 * `false` (treat as a replay) and counts the refusal in `refused`. Evicting a live entry instead would
 * let an attacker who floods the cache replay an identifier whose record was pushed out; refusing
 * costs availability, never security, and `refused` makes the pressure visible.
 */
export class MemoryReplayCache implements ReplayCache {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** A lower bound on the earliest live expiry, so a full cache with nothing expired refuses in O(1). */
  #earliest = Number.POSITIVE_INFINITY;
  #refused = 0;

  constructor(options: MemoryReplayCacheOptions = {}) {
    const { maxEntries = 500_000, sweepIntervalMs = 30_000, now = epochSeconds } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new TypeError('maxEntries must be a positive integer');
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0)
      throw new TypeError('sweepIntervalMs must be >= 0');
    if (typeof now !== 'function') throw new TypeError('now must be a function returning epoch seconds');
    this.#maxEntries = maxEntries;
    this.#now = now;
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
      // Node's timers can be unref'd so the sweep never keeps a process alive; other runtimes' cannot.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /**
   * `validFromEpochSeconds` is checked but not used: this cache's memory ends with its process, so there is
   * no loss to detect while it runs.
   */
  async consume(key: string, expiresAtEpochSeconds: number, validFromEpochSeconds: number): Promise<boolean> {
    checkConsumeArguments(key, expiresAtEpochSeconds, validFromEpochSeconds);
    const now = this.#now();
    const seen = this.#entries.get(key);
    if (seen !== undefined && seen > now) return false;
    if (expiresAtEpochSeconds <= now) {
      if (seen !== undefined) this.#entries.delete(key);
      return true;
    }
    if (seen === undefined && this.#entries.size >= this.#maxEntries) {
      if (now >= this.#earliest) this.sweep();
      if (this.#entries.size >= this.#maxEntries) {
        this.#refused++;
        return false;
      }
    }
    this.#entries.set(key, expiresAtEpochSeconds);
    if (expiresAtEpochSeconds < this.#earliest) this.#earliest = expiresAtEpochSeconds;
    return true;
  }

  /** Drops every expired entry; returns how many were dropped. */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt <= now) {
        this.#entries.delete(key);
        dropped++;
      } else if (expiresAt < earliest) {
        earliest = expiresAt;
      }
    }
    this.#earliest = earliest;
    return dropped;
  }

  /** Live and not-yet-swept entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** Consumes refused because the cache was full of live entries (answered as replays). */
  get refused(): number {
    return this.#refused;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
    this.#earliest = Number.POSITIVE_INFINITY;
  }
}
