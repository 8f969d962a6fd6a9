/** A containment whose ledger or guard store cannot be read fails closed: 503-class, nothing changed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sts } from '../../sts/sts.ts';
import { ActionCatalog } from '../catalog.ts';
import type { GuardRuntime } from '../runtime.ts';
import { openGuardStore } from '../store/open-guard-store.ts';
import { ContainError } from './contain-error.ts';
import type { ContainContext } from './context.ts';
import { planContainment, runContainment } from './run-containment.ts';

const noSts = new Proxy({} as Sts, {
  get() {
    throw new Error('the STS must not be used when the ledger cannot be read');
  },
});

test('the ledger unreadable: WARRANT_CONTAIN_UNAVAILABLE, for the plan and the run, and nothing is written', async () => {
  const store = await openGuardStore(
    { store: { kind: 'sqlite' }, dataDir: '/nonexistent' },
    { path: ':memory:' },
  );
  try {
    const ctx: ContainContext = {
      sts: noSts,
      guard: { store } as unknown as GuardRuntime,
      routes: () => [],
      catalog: () => new ActionCatalog([]),
      ledger: { source: () => Promise.reject(new Error('SQLITE_BUSY')), close: async () => {} },
      compensationTimeoutMs: 1000,
    };
    for (const attempt of [
      () => planContainment(ctx, { txn: 't' }),
      () => runContainment(ctx, { txn: 't' }, { actor: 'admin' }),
    ]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof ContainError);
        assert.equal(error.code, 'WARRANT_CONTAIN_UNAVAILABLE');
        return true;
      });
    }
    assert.equal(await store.changes.latest(), 0);
    assert.equal(Number((await store.sql.one('SELECT COUNT(*) AS n FROM containment_runs'))?.['n']), 0);
  } finally {
    await store.close();
  }
});
