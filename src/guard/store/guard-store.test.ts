import assert from 'node:assert/strict';
import { guardStoreContract } from './contract.ts';

guardStoreContract('guard store', {
  'records changes with ids in order and reads them back by subject and since an id': async (store) => {
    const first = await store.changes.record({
      time: 100,
      kind: 'trust',
      subject: 'agent-a',
      actor: 'admin',
      reason: 'pinned by an operator',
      detail: { from: 0, to: 2 },
    });
    const second = await store.changes.record({
      time: 101,
      kind: 'tool',
      subject: 'mcp search',
      actor: 'gateway:g1',
      reason: 'definition changed',
      detail: { old: 'a', new: 'b' },
    });
    assert.ok(second > first);
    assert.equal(await store.changes.latest(), second);
    const since = await store.changes.since(first);
    assert.deepEqual(
      since.map((c) => [c.kind, c.subject, c.detail]),
      [['tool', 'mcp search', { old: 'a', new: 'b' }]],
    );
    const history = await store.changes.of('trust', 'agent-a');
    assert.equal(history.length, 1);
    assert.equal(history[0]?.reason, 'pinned by an operator');
  },
  'a transaction that fails leaves nothing behind; one that succeeds commits everything': async (store) => {
    await assert.rejects(
      store.sql.transaction(async (tx) => {
        await store.changes.record(
          { time: 1, kind: 'budget', subject: 'b', actor: 'admin', reason: 'x', detail: {} },
          tx,
        );
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await store.changes.latest(), 0);
    await store.sql.transaction(async (tx) => {
      await store.changes.record(
        { time: 1, kind: 'budget', subject: 'b', actor: 'admin', reason: 'x', detail: {} },
        tx,
      );
      await store.changes.record(
        { time: 2, kind: 'budget', subject: 'b', actor: 'admin', reason: 'y', detail: {} },
        tx,
      );
    });
    assert.equal((await store.changes.of('budget', 'b')).length, 2);
  },
  "statements outside a transaction wait for it (no statement lands inside another request's transaction)":
    async (store) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const tx = store.sql.transaction(async (t) => {
        await store.changes.record(
          { time: 1, kind: 'k', subject: 's', actor: 'a', reason: 'in', detail: {} },
          t,
        );
        await gate;
        throw new Error('rolled back');
      });
      const outside = store.changes.record({
        time: 2,
        kind: 'k',
        subject: 's',
        actor: 'a',
        reason: 'out',
        detail: {},
      });
      await new Promise((r) => setTimeout(r, 20));
      release();
      await assert.rejects(tx, /rolled back/);
      await outside;
      assert.deepEqual(
        (await store.changes.of('k', 's')).map((c) => c.reason),
        ['out'],
      );
    },
});
