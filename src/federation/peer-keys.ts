import { readFileSync } from 'node:fs';
import type { KeyResolver } from '../core/jose/jws.ts';
import { KeySet } from '../core/jose/key-set.ts';
import { parseStrictJson } from '../core/jose/strict-json.ts';

/** Largest JWKS document read from a peer (bytes). */
const MAX_JWKS_BYTES = 256 * 1024;

export interface PeerKeysOptions {
  /** How long fetched keys are used before they are fetched again (ms). Default 10 min. */
  readonly maxAgeMs?: number;
  /** Least time between two fetches, also those a token naming an unknown `kid` triggers (ms). Default 30 s. */
  readonly cooldownMs?: number;
  readonly timeoutMs?: number;
}

/**
 * A peer STS's signing keys, as a synchronous resolver for the chain verifier: fixed (an inline JWKS, a JWKS
 * file such as a SPIFFE trust bundle) or fetched from its JWKS URI with strict limits — redirects refused,
 * 5 s timeout, 256 KiB, strict JSON (duplicate-free), only the key types and algorithms Warrant signs with
 * (`importPublicJwk`). Fetched keys are kept for `maxAgeMs`; an unknown `kid` triggers a fetch at most once
 * per `cooldownMs` and resolves to nothing meanwhile (the token is refused, never trusted). A failed fetch
 * keeps the keys already held.
 */
export class PeerKeys {
  readonly #uri: string | undefined;
  readonly #maxAgeMs: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  #keys: KeySet;
  #fetchedAt = 0;
  #attemptAt = 0;
  #pending: Promise<void> | undefined;

  private constructor(uri: string | undefined, keys: KeySet, options: PeerKeysOptions) {
    this.#uri = uri;
    this.#keys = keys;
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  static fixed(jwks: unknown): PeerKeys {
    return new PeerKeys(undefined, KeySet.fromJwks(jwks), {});
  }

  static file(path: string): PeerKeys {
    const parsed = parseStrictJson(readFileSync(path, 'utf8'));
    if (parsed === undefined) throw new TypeError(`the JWKS file ${path} is not strict JSON`);
    return PeerKeys.fixed(parsed.value);
  }

  static remote(uri: string, options: PeerKeysOptions = {}): PeerKeys {
    return new PeerKeys(uri, new KeySet(), options);
  }

  /** Fetches the keys now (a remote peer); rejects when the fetch fails (the keys held are kept). */
  refresh(): Promise<void> {
    if (this.#uri === undefined) return Promise.resolve();
    this.#pending ??= this.#load().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  readonly resolve: KeyResolver = (kid) => {
    const key = this.#keys.get(kid);
    if (this.#uri !== undefined) {
      const now = Date.now();
      const due = now - this.#fetchedAt >= this.#maxAgeMs || key === undefined;
      if (due && now - this.#attemptAt >= this.#cooldownMs) void this.refresh().catch(() => {});
    }
    return key;
  };

  async #load(): Promise<void> {
    // Even a failed fetch starts the cooldown: an unreachable peer is not asked again on every token.
    this.#attemptAt = Date.now();
    const response = await fetch(this.#uri!, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the peer JWKS endpoint answered ${response.status}`);
    }
    if (Number(response.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) {
      await response.body?.cancel();
      throw new Error('the peer JWKS document is too large');
    }
    const text = await response.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error('the peer JWKS document is too large');
    const parsed = parseStrictJson(text);
    if (parsed === undefined) throw new Error('the peer JWKS document is not strict JSON');
    this.#keys = KeySet.fromJwks(parsed.value);
    this.#fetchedAt = Date.now();
  }
}
