import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WarrantConfig } from '../config/types.ts';
import { openGuardRuntime } from './runtime.ts';
import type { GuardChange } from './store/changes.ts';
import { openGuardStore } from './store/open-guard-store.ts';

const CONFIG = { store: { kind: 'sqlite' }, dataDir: '/nonexistent' } as unknown as WarrantConfig;

test('a runtime tells its watchers of the changes recorded after it opened, by kind, once each', async () => {
  const store = await openGuardStore(CONFIG, { path: ':memory:' });
  const change = { time: 1, subject: 's', actor: 'admin', reason: 'r', detail: {} };
  await store.changes.record({ ...change, kind: 'tool' });
  const runtime = await openGuardRuntime(CONFIG, { store, pollMs: 0 });
  const tools: GuardChange[] = [];
  runtime.watch('tool', (c) => tools.push(c));
  await store.changes.record({ ...change, kind: 'tool', subject: 'after' });
  await store.changes.record({ ...change, kind: 'breaker' });
  await runtime.poll();
  await runtime.poll();
  assert.deepEqual(
    tools.map((c) => c.subject),
    ['after'],
  );
  await runtime.close();
  // The caller's store stays open.
  assert.equal(await store.changes.latest(), 3);
  await store.close();
});
