import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { CatalogError, validateCatalog } from '../catalog.ts';
import { openGuardRuntime } from '../runtime.ts';
import { openGuardStore } from '../store/open-guard-store.ts';
import { STALE_SECONDS, type TrustLevelEvent, TrustLevels } from './trust-levels.ts';

const A = 'spiffe://warrant.test/agent/a';
const config = loadConfig(undefined, {
  dataDir: '/nonexistent',
  guard: {
    trust: {
      levels: 3,
      promotion: { calls: 2, minSeconds: 0 },
      demotion: { denials: 2, failures: 2, windowSeconds: 60 },
      flushMs: 60_000,
    },
  },
});

test('counts stay in memory until a flush; a threshold reached flushes at once; the level is durable', async () => {
  const store = await openGuardStore(config, { path: ':memory:' });
  const runtime = await openGuardRuntime(config, { store, pollMs: 0, clock: () => 1000 });
  try {
    const events: TrustLevelEvent[] = [];
    runtime.trust.onChange((e) => events.push(e));
    runtime.trust.count(A, 'clean');
    assert.equal(await runtime.trust.store.get(A), undefined, 'nothing written on the request path');
    runtime.trust.count(A, 'clean');
    await runtime.trust.flush();
    assert.equal(runtime.trust.level(A), 1);
    assert.equal((await runtime.trust.store.get(A))?.level, 1);
    assert.deepEqual(
      events.map((e) => e.level),
      [1],
    );
    const demoted = await runtime.trust.demote(A, 'breaker agent tripped');
    assert.equal(demoted?.to, 0);
    assert.equal(runtime.trust.level(A), 0);
    assert.equal((await runtime.trust.view(A)).history[0]?.reason, 'demoted: breaker agent tripped');
  } finally {
    await runtime.close();
    await store.close();
  }
});

test('a level changed by another process reaches this one through the change history', async () => {
  const store = await openGuardStore(config, { path: ':memory:' });
  const control = await openGuardRuntime(config, { store, pollMs: 0 });
  const gateway = await openGuardRuntime(config, { store, pollMs: 0 });
  try {
    await control.trust.set(A, { level: 3, pinned: true }, 'vetted', 'admin');
    assert.equal(gateway.trust.level(A), 0, 'not yet polled');
    await gateway.poll();
    assert.equal(gateway.trust.level(A), 3);
    assert.equal(gateway.trust.pinned(A), true);
    // A process that opens later loads every level from the store.
    const late = await openGuardRuntime(config, { store, pollMs: 0 });
    assert.equal(late.trust.level(A), 3);
    await late.close();
  } finally {
    await gateway.close();
    await control.close();
    await store.close();
  }
});

test('bad trust options are refused at load with their path named', () => {
  const bad = (trust: Record<string, unknown>, path: string) =>
    assert.throws(
      () => loadConfig(undefined, { guard: { trust } } as never),
      (e: unknown) => e instanceof ConfigError && e.path === path,
      path,
    );
  bad({ levels: 0 }, '/guard/trust/levels');
  bad({ levels: 2, initialLevel: 3 }, '/guard/trust/initialLevel');
  bad({ promotion: { calls: 0 } }, '/guard/trust/promotion/calls');
  bad({ demotion: { windowSeconds: 'an hour' } }, '/guard/trust/demotion/windowSeconds');
  bad({ surprise: true }, '/guard/trust/surprise');
});

test('a bad sandbox in the catalog is refused with its path named', () => {
  const action = (sandbox: unknown) => ({
    actions: [{ name: 'w', match: { protocol: 'http', path: '/w' }, sandbox }],
  });
  const bad = (sandbox: unknown, path: string) =>
    assert.throws(
      () => validateCatalog(action(sandbox)),
      (e: unknown) => e instanceof CatalogError && e.path === path,
      path,
    );
  bad({ upstream: 'ftp://sandbox.test', belowTrustLevel: 1 }, '/actions/0/sandbox/upstream');
  bad({ upstream: 'http://user:pw@sandbox.test', belowTrustLevel: 1 }, '/actions/0/sandbox/upstream');
  bad({ upstream: 'http://sandbox.test', belowTrustLevel: 0 }, '/actions/0/sandbox/belowTrustLevel');
  bad({ upstream: 'http://sandbox.test' }, '/actions/0/sandbox/belowTrustLevel');
  assert.equal(
    validateCatalog(action({ upstream: 'https://sandbox.test/v1', belowTrustLevel: 2 }))[0]?.sandbox
      ?.belowTrustLevel,
    2,
  );
});

test('while the change history does not answer, levels fall back to the initial one past the bound', async () => {
  const store = await openGuardStore(config, { path: ':memory:' });
  let now = 1000;
  const runtime = await openGuardRuntime(config, { store, pollMs: 0, clock: () => now });
  try {
    await runtime.trust.set(A, { level: 2, pinned: true }, 'vetted', 'admin');
    runtime.trust.unconfirmed();
    now += STALE_SECONDS - 1;
    assert.equal(runtime.trust.level(A), 2, 'within the bound: the copy is trusted');
    now += 1;
    assert.equal(runtime.trust.level(A), 0, 'past it: the initial level');
    runtime.trust.confirmed();
    assert.equal(runtime.trust.level(A), 2);
  } finally {
    await runtime.close();
    await store.close();
  }
});

test('counts that cannot be written (the store is down) are kept and written by the next flush', async () => {
  const store = await openGuardStore(config, { path: ':memory:' });
  let down = true;
  const sql = new Proxy(store.sql, {
    get(target, name) {
      if (name === 'transaction' && down) return () => Promise.reject(new Error('store down'));
      const value = Reflect.get(target, name);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const levels = await TrustLevels.open({ ...store, sql }, config.guard.trust, () => 1000);
  try {
    levels.count(A, 'clean');
    await assert.rejects(levels.flush(), /store down/);
    assert.equal(levels.level(A), 0);
    down = false;
    levels.count(A, 'clean');
    await levels.flush();
    assert.equal(levels.level(A), 1, 'both clean calls counted');
  } finally {
    await levels.close();
    await store.close();
  }
});
