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
