import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../store/open-store.ts';
import { KeyVault } from './signing-keys.ts';

test('with an encryption secret, signing keys are sealed in the store and open only with that secret', async () => {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  try {
    const ring = await new KeyVault(store.keys, 'correct horse battery staple').load('EdDSA', 1_900_000_000);
    const [stored] = await store.keys.list();
    assert.match(stored!.material, /^aesgcm:/);
    const privateD = (ring.current.privateKey.export({ format: 'jwk' }) as { d: string }).d;
    assert.ok(!stored!.material.includes(privateD), 'no plaintext key material in the store');
    const again = await new KeyVault(store.keys, 'correct horse battery staple').load('EdDSA', 1_900_000_001);
    assert.equal(again.current.kid, ring.current.kid);
    await assert.rejects(new KeyVault(store.keys, 'wrong secret').load('EdDSA', 1_900_000_002));
    await assert.rejects(new KeyVault(store.keys).load('EdDSA', 1_900_000_002), /WARRANT_KEY_ENCRYPTION_KEY/);
  } finally {
    await store.close();
  }
});

test('rotation keeps the previous key published for the overlap, then drops it', async () => {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  try {
    const vault = new KeyVault(store.keys);
    const ring = await vault.load('EdDSA', 1000);
    const old = ring.current.kid;
    await vault.rotate(ring, 'EdDSA', 600, 1000);
    assert.notEqual(ring.current.kid, old);
    assert.equal(ring.keySet(1500).size, 2);
    // trusts(kid) agrees with keySet: the retired key until its overlap ends, the current one always.
    assert.equal(ring.trusts(old, 1500), true);
    assert.equal(ring.trusts(ring.current.kid, 1500), true);
    assert.equal(ring.trusts(old, 1600), false, 'the overlap ends at rotation + 600');
    assert.equal(ring.trusts('unknown-kid', 1500), false);
    const reloaded = await vault.load('EdDSA', 1500);
    assert.equal(reloaded.keySet(1500).size, 2);
    assert.equal(
      (await vault.load('EdDSA', 1700)).keySet(1700).size,
      1,
      'past the overlap only the current key',
    );
  } finally {
    await store.close();
  }
});

test('publish first: a rotated key is published and trusted at once, signs only from its activation', async () => {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  try {
    const vault = new KeyVault(store.keys);
    const ringA = await vault.load('EdDSA', 1000);
    const ringB = await new KeyVault(store.keys).load('EdDSA', 1000); // another replica on the same store
    const old = ringA.current.kid;
    const { key, activeFrom } = await vault.rotate(ringA, 'EdDSA', 600, 1000, 30);
    assert.equal(activeFrom, 1030);
    assert.equal(ringA.current.kid, old, 'the rotating replica keeps signing with the old key');
    assert.deepEqual(
      ringA.pending.map((p) => [p.key.kid, p.from]),
      [[key.kid, 1030]],
    );
    assert.equal(ringA.trusts(key.kid, 1001), true, 'published and trusted before it signs');
    assert.equal(ringA.keySet(1001).size, 2);
    // The other replica does not know it until it re-reads the store; then it does, still not signing.
    assert.equal(ringB.trusts(key.kid, 1001), false);
    assert.equal(await vault.reload(ringB, 'EdDSA', 1010), true);
    assert.equal(ringB.trusts(key.kid, 1010), true);
    assert.equal(ringB.current.kid, old);
    assert.equal(await vault.reload(ringB, 'EdDSA', 1020), false, 'nothing changed');
    // At the activation time every replica that re-reads signs with the new key; the old one verifies.
    await vault.reload(ringA, 'EdDSA', 1030);
    await vault.reload(ringB, 'EdDSA', 1030);
    assert.equal(ringA.current.kid, key.kid);
    assert.equal(ringB.current.kid, key.kid);
    assert.equal(ringB.trusts(old, 1500), true);
    assert.equal(ringB.trusts(old, 1630), false, 'the overlap counts from the activation');
  } finally {
    await store.close();
  }
});
