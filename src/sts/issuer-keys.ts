import { readFileSync } from 'node:fs';
import { type ExternalKey, importExternalJwks } from '../core/jose/external-jwk.ts';
import { parseStrictJson } from '../core/jose/strict-json.ts';

/** Largest JWKS document read from an issuer (bytes). */
const MAX_JWKS_BYTES = 256 * 1024;

export interface RemoteJwksOptions {
  /** How long fetched keys are used before they are fetched again (ms). */
  readonly maxAgeMs?: number;
  /** Least time between two fetches triggered by an unknown `kid` (ms). */
  readonly cooldownMs?: number;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * The keys of one trusted issuer. Fixed keys (a JWKS file, or a JWKS stored with the issuer) are imported
 * once; a `jwksUri` is fetched (5 s timeout, 256 KiB, strict JSON), cached for `maxAgeMs`, and fetched again
 * early when a token names a `kid` the cache lacks — at most once per `cooldownMs`, so unknown kids cannot
 * make Warrant hammer an issuer. A failed refresh keeps the keys already held. Every key goes through
 * `importExternalJwk` (the external algorithm allowlist, RSA ≥ 2048 bits, no private members).
 */
export class IssuerKeys {
  readonly #uri: string | undefined;
  readonly #maxAgeMs: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  #keys: ExternalKey[] | undefined;
  #fetchedAt = 0;
  #pending: Promise<ExternalKey[]> | undefined;

  private constructor(uri: string | undefined, keys: ExternalKey[] | undefined, options: RemoteJwksOptions) {
    this.#uri = uri;
    this.#keys = keys;
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#fetch = options.fetch ?? fetch;
  }

  static fixed(jwks: unknown): IssuerKeys {
    return new IssuerKeys(undefined, importExternalJwks(jwks), {});
  }

  static file(path: string): IssuerKeys {
    const parsed = parseStrictJson(readFileSync(path, 'utf8'));
    if (parsed === undefined) throw new TypeError(`the JWKS file ${path} is not strict JSON`);
    return IssuerKeys.fixed(parsed.value);
  }

  static remote(uri: string, options: RemoteJwksOptions = {}): IssuerKeys {
    return new IssuerKeys(uri, undefined, options);
  }

  /** The keys to try for a token naming `kid` (undefined: the token names none). */
  async keys(kid: string | undefined): Promise<readonly ExternalKey[]> {
    if (this.#uri === undefined) return this.#keys ?? [];
    const age = Date.now() - this.#fetchedAt;
    const known = this.#keys !== undefined && (kid === undefined || this.#keys.some((k) => k.kid === kid));
    if (this.#keys === undefined || age >= this.#maxAgeMs || (!known && age >= this.#cooldownMs)) {
      try {
        return await this.#refresh();
      } catch (error) {
        if (this.#keys === undefined) throw error;
      }
    }
    return this.#keys;
  }

  #refresh(): Promise<ExternalKey[]> {
    this.#pending ??= this.#load().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #load(): Promise<ExternalKey[]> {
    // Even a failed fetch starts the cooldown: an unreachable issuer is not asked again on every token.
    this.#fetchedAt = Date.now();
    const response = await this.#fetch(this.#uri!, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the JWKS endpoint answered ${response.status}`);
    }
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_JWKS_BYTES) {
      await response.body?.cancel();
      throw new Error('the JWKS document is too large');
    }
    const text = await response.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error('the JWKS document is too large');
    const parsed = parseStrictJson(text);
    if (parsed === undefined) throw new Error('the JWKS document is not strict JSON');
    const keys = importExternalJwks(parsed.value);
    this.#keys = keys;
    return keys;
  }
}
