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
    let stored = await this.#store.list();
    if (!stored.some((k) => k.state === 'current')) {
      await this.#save(generateSigningKey(alg), now);
      stored = await this.#store.list();
    }
    const current = stored.filter((k) => k.state === 'current').at(-1)!;
    const previous = stored
      .filter((k) => k.state === 'previous' && k.retireAt !== null && k.retireAt > now)
      .map((k) => ({ key: this.#open(k.material, k.alg as Alg), until: k.retireAt! }));
    return new SigningKeyRing(this.#open(current.material, current.alg as Alg), previous);
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

  /** A new current key; the old one stays published for `overlapSeconds`. */
  async rotate(ring: SigningKeyRing, alg: Alg, overlapSeconds: number, now: number): Promise<SigningKey> {
    const next = generateSigningKey(alg);
    const old = ring.current;
    await this.#save(next, now);
    await this.#store.setState(old.kid, 'previous', now + overlapSeconds);
    ring.rotate(next, overlapSeconds, now);
    return next;
  }
}
