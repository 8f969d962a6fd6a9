import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Alg } from '../core/jose/algorithms.ts';
import { exportPrivateJwk, generateSigningKey, importPrivateJwk, type SigningKey } from '../core/jose/jwk.ts';
import { SigningKeyRing } from '../core/jose/key-set.ts';
import type { KeyStore } from '../store/ports.ts';

/**
 * STS signing keys live in the store: the current key plus previous keys until their retirement time.
 * With an encryption secret (environment `WARRANT_KEY_ENCRYPTION_KEY`), key material is sealed with
 * AES-256-GCM before it reaches the store; without one it is stored as a JWK in the store file, which the
 * SQLite adapter keeps at mode 0600. Key material is never logged.
 */
export class KeyVault {
  readonly #store: KeyStore;
  readonly #secret: Buffer | undefined;

  constructor(store: KeyStore, secret?: string) {
    this.#store = store;
    this.#secret = secret ? createHash('sha256').update(secret).digest() : undefined;
  }

  #seal(jwk: string): string {
    if (!this.#secret) return `plain:${jwk}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#secret, iv);
    const body = Buffer.concat([cipher.update(jwk, 'utf8'), cipher.final()]);
    return `aesgcm:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  #open(material: string, alg: Alg): SigningKey {
    if (material.startsWith('plain:')) return importPrivateJwk(JSON.parse(material.slice(6)), alg);
    if (!material.startsWith('aesgcm:')) throw new Error('unknown key material format');
    if (!this.#secret) throw new Error('signing keys are encrypted: set WARRANT_KEY_ENCRYPTION_KEY');
    const raw = Buffer.from(material.slice(7), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#secret, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const jwk = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return importPrivateJwk(JSON.parse(jwk), alg);
  }

  /** The key ring from the store, creating the first key when there is none. */
  async load(alg: Alg, now: number): Promise<SigningKeyRing> {
    const { current, previous, pending } = await this.#read(alg, now);
    return new SigningKeyRing(current, previous, pending);
  }

  /**
   * Reads the store again into `ring` (another replica may have rotated): the same derivation as `load`.
   * Returns whether the signing key or the published set changed.
   */
  async reload(ring: SigningKeyRing, alg: Alg, now: number): Promise<boolean> {
    const before = published(ring, now);
    const { current, previous, pending } = await this.#read(alg, now);
    ring.replace(current, previous, pending);
    return published(ring, now) !== before;
  }

  /**
   * What the stored rows mean at `now`. A row is live while it is `current`, or `previous` before its
   * `retireAt`. Live rows created at or before `now` are active: the newest signs, the others verify until
   * they retire (`retireAt`; a superseded `current` row — a rotation's old key not yet marked — until the
   * overlap after its successor's activation). Live rows created after `now` are pending: published and
   * trusted, signing from their `createdAt` (the activation time a rotation chose).
   */
  async #read(alg: Alg, now: number) {
    let stored = await this.#store.list();
    if (!stored.some((k) => k.state === 'current')) {
      await this.#save(generateSigningKey(alg), now);
      stored = await this.#store.list();
    }
    const live = stored.filter((k) => k.state === 'current' || (k.retireAt !== null && k.retireAt > now));
    // Oldest first; within one second, a `previous` row before a `current` one (the rotation that made it).
    const order = (k: (typeof live)[number]) => k.createdAt * 2 + (k.state === 'current' ? 1 : 0);
    const active = live.filter((k) => k.createdAt <= now).sort((a, b) => order(a) - order(b));
    // With no active row (a clock far behind the store's), the oldest pending one signs.
    const signing = active.at(-1) ?? live.sort((a, b) => order(a) - order(b))[0]!;
    const previous = active
      .filter((k) => k !== signing)
      .map((k) => ({ key: this.#open(k.material, k.alg as Alg), until: k.retireAt ?? now + 3600 }));
    const pending = live
      .filter((k) => k.createdAt > now && k !== signing)
      .map((k) => ({ key: this.#open(k.material, k.alg as Alg), from: k.createdAt }));
    return { current: this.#open(signing.material, signing.alg as Alg), previous, pending };
  }

  async #save(key: SigningKey, now: number): Promise<void> {
    await this.#store.save({
      kid: key.kid,
      alg: key.alg,
      material: this.#seal(JSON.stringify(exportPrivateJwk(key))),
      state: 'current',
      createdAt: now,
      retireAt: null,
    });
  }

  /**
   * A new key, published at once and signing from `now + activationDelaySeconds` (publish first: every
   * replica and gateway sees it before any replica signs with it); the old one keeps signing until then
   * and stays published for `overlapSeconds` after. Reloads `ring` from the store.
   */
  async rotate(
    ring: SigningKeyRing,
    alg: Alg,
    overlapSeconds: number,
    now: number,
    activationDelaySeconds = 0,
  ): Promise<{ key: SigningKey; activeFrom: number }> {
    const next = generateSigningKey(alg);
    const old = ring.current;
    const activeFrom = now + activationDelaySeconds;
    await this.#save(next, activeFrom);
    await this.#store.setState(old.kid, 'previous', activeFrom + overlapSeconds);
    await this.reload(ring, alg, now);
    return { key: next, activeFrom };
  }
}

/** The signing kid and the published kids of `ring` at `now`, as one comparable string. */
function published(ring: SigningKeyRing, now: number): string {
  const kids = ring
    .keySet(now)
    .toJwks()
    .keys.map((k) => k.kid)
    .sort();
  return `${ring.current.kid}|${kids.join(',')}`;
}
