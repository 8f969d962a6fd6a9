import { KeyError } from '../errors.ts';
import type { Alg } from './algorithms.ts';
import {
  importPublicJwk,
  isThumbprintShape,
  type PublicJwk,
  type SigningKey,
  type VerificationKey,
} from './jwk.ts';
import type { KeyResolver } from './jws.ts';

export interface Jwks {
  keys: PublicJwk[];
}

/**
 * A set of trusted verification keys, looked up by RFC 7638 thumbprint only. A `kid` that does not have
 * the shape of a thumbprint (paths, SQL, shell strings, URLs) never reaches a lookup.
 */
export class KeySet {
  readonly #keys = new Map<string, VerificationKey>();

  constructor(keys: Iterable<VerificationKey> = []) {
    for (const key of keys) this.#keys.set(key.kid, key);
  }

  /** Builds a key set from a JWKS document; `algorithms` restricts which key types are accepted. */
  static fromJwks(jwks: unknown, algorithms?: readonly Alg[]): KeySet {
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as Jwks).keys)) {
      throw new KeyError('WARRANT_KEY_INVALID', 'JWKS has no keys array');
    }
    const keys = (jwks as Jwks).keys.map((jwk) => importPublicJwk(jwk));
    if (algorithms) {
      for (const key of keys) {
        if (!algorithms.includes(key.alg))
          throw new KeyError('WARRANT_KEY_INVALID', `key algorithm ${key.alg} is not allowed`);
      }
    }
    return new KeySet(keys);
  }

  get(kid: unknown): VerificationKey | undefined {
    if (!isThumbprintShape(kid)) return undefined;
    return this.#keys.get(kid);
  }

  get size(): number {
    return this.#keys.size;
  }

  readonly resolve: KeyResolver = (kid) => this.get(kid);

  toJwks(): Jwks {
    return { keys: [...this.#keys.values()].map((k) => ({ ...k.jwk })) };
  }
}

interface RetiredKey {
  readonly key: SigningKey;
  /** Epoch seconds after which the retired key is no longer published or trusted. */
  readonly until: number;
}

interface PendingKey {
  readonly key: SigningKey;
  /** Epoch seconds from which the key signs (until then it is only published and trusted). */
  readonly from: number;
}

/**
 * The issuer's keys: one current signing key plus previous keys still published for an overlap period,
 * so tokens signed just before a rotation keep verifying until they expire — and, with several replicas,
 * pending keys: published and trusted already, signing only from their activation time (publish first,
 * sign after every replica and gateway has seen them).
 */
export class SigningKeyRing {
  #current: SigningKey;
  #previous: RetiredKey[];
  #pending: PendingKey[];

  constructor(
    current: SigningKey,
    previous: readonly RetiredKey[] = [],
    pending: readonly PendingKey[] = [],
  ) {
    this.#current = current;
    this.#previous = [...previous];
    this.#pending = [...pending];
  }

  /** Keys published ahead of their activation (another replica rotated; see `KeyVault.load`). */
  get pending(): readonly PendingKey[] {
    return this.#pending;
  }

  /** Replaces the whole ring (a reload from the store), in place: every holder of this ring sees it. */
  replace(current: SigningKey, previous: readonly RetiredKey[], pending: readonly PendingKey[]): void {
    this.#current = current;
    this.#previous = [...previous];
    this.#pending = [...pending];
  }

  get current(): SigningKey {
    return this.#current;
  }

  get previous(): readonly RetiredKey[] {
    return this.#previous;
  }

  /** Makes `next` current; the old key stays trusted for `overlapSeconds` (at least the longest token lifetime). */
  rotate(next: SigningKey, overlapSeconds: number, now: number): void {
    if (!Number.isFinite(overlapSeconds) || overlapSeconds < 0)
      throw new TypeError('overlapSeconds must be >= 0');
    this.#previous = [{ key: this.#current, until: now + overlapSeconds }, ...this.#prune(now)];
    this.#current = next;
  }

  /** The verification key set at `now`: the current key and every previous key still in its overlap. */
  keySet(now: number): KeySet {
    return new KeySet([
      this.#current,
      ...this.#prune(now).map((r) => r.key),
      ...this.#pending.map((p) => p.key),
    ]);
  }

  /** Whether `kid` is in `keySet(now)`, without building it. */
  trusts(kid: string, now: number): boolean {
    return (
      this.#current.kid === kid ||
      this.#previous.some((r) => r.key.kid === kid && r.until > now) ||
      this.#pending.some((p) => p.key.kid === kid)
    );
  }

  #prune(now: number): RetiredKey[] {
    this.#previous = this.#previous.filter((r) => r.until > now);
    return this.#previous;
  }
}
