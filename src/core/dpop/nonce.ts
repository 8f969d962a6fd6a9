import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DpopNonceChecker } from './verify-proof.ts';

export interface DpopNoncesOptions {
  /** HMAC key, at least 32 bytes; share it between replicas so any of them accepts another's nonce. */
  secret?: Uint8Array;
  /** Length of one nonce window in seconds (default 60); a nonce is accepted in its window and the next. */
  windowSeconds?: number;
}

const NONCE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Stateless DPoP server nonces (RFC 9449 §8): `base64url(HMAC-SHA-256(secret, window counter))`. No store:
 * `check` recomputes the current and the previous window's nonce and compares in constant time, so a
 * nonce lives between one and two windows.
 */
export class DpopNonces implements DpopNonceChecker {
  readonly #secret: Buffer;
  readonly #window: number;

  constructor(options: DpopNoncesOptions = {}) {
    const { secret = randomBytes(32), windowSeconds = 60 } = options;
    if (!(secret instanceof Uint8Array) || secret.length < 32)
      throw new TypeError('secret must be at least 32 bytes');
    if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1)
      throw new TypeError('windowSeconds must be a positive integer');
    this.#secret = Buffer.from(secret);
    this.#window = windowSeconds;
  }

  /** The nonce to hand out now (in a `DPoP-Nonce` header). */
  issue(now: number = Date.now() / 1000): string {
    return this.#mac(this.#counter(now)).toString('base64url');
  }

  /** True when `nonce` is the current or the previous window's nonce. */
  check(nonce: unknown, now: number = Date.now() / 1000): boolean {
    if (typeof nonce !== 'string' || !NONCE.test(nonce)) return false;
    const given = Buffer.from(nonce, 'base64url');
    if (given.length !== 32 || given.toString('base64url') !== nonce) return false;
    const counter = this.#counter(now);
    const current = timingSafeEqual(given, this.#mac(counter));
    const previous = timingSafeEqual(given, this.#mac(counter - 1));
    return current || previous;
  }

  #counter(now: number): number {
    if (!Number.isFinite(now)) throw new TypeError('now must be epoch seconds');
    return Math.floor(now / this.#window);
  }

  /** The MAC of the last two windows, computed once per window instead of three times per request. */
  readonly #macs = new Map<number, Buffer>();

  #mac(counter: number): Buffer {
    let mac = this.#macs.get(counter);
    if (mac === undefined) {
      mac = createHmac('sha256', this.#secret)
        .update(`warrant-dpop-nonce:${this.#window}:${counter}`)
        .digest();
      if (this.#macs.size >= 4) this.#macs.clear();
      this.#macs.set(counter, mac);
    }
    return mac;
  }
}
