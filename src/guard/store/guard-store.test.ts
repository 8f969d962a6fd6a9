import assert from 'node:assert/strict';
import {
  closeSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { guardStoreContract } from './contract.ts';
import { openGuardStore } from './open-guard-store.ts';

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

/**
 * The descriptor the store's WalSync holds on `wal` (read-only; SQLite's own is read-write), from
 * /proc/self: closing it makes the next fdatasync fail as an I/O error would (EBADF).
 */
function walSyncDescriptor(wal: string): number {
  for (const name of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    if (target !== wal) continue;
    const flags = /^flags:\s+(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${name}`, 'utf8'))?.[1];
    if (flags !== undefined && (Number.parseInt(flags, 8) & 3) === 0) return Number(name);
  }
  throw new Error(`no read-only descriptor on ${wal}`);
}

test('a SQLite guard store syncs a write that returns rows; once a sync fails it refuses every write, and its readiness ping fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-guard-wal-'));
  const path = join(dir, 'guard.db');
  const store = await openGuardStore({ store: { kind: 'sqlite' }, dataDir: dir }, { path });
  const change = (reason: string) => ({
    time: 1,
    kind: 'budget',
    subject: 'b',
    actor: 'admin',
    reason,
    detail: {},
  });
  try {
    // A change recorded outside a transaction (`INSERT … RETURNING`) is synced before it resolves: the
    // WAL's sync descriptor exists only once a sync has run.
    await store.changes.record(change('synced'));
    await store.sql.ping();
    closeSync(walSyncDescriptor(realpathSync(`${path}-wal`)));
    await assert.rejects(store.changes.record(change('lost')), /fdatasync failed/);
    await assert.rejects(store.changes.record(change('later')), /fdatasync failed/, 'no retry');
    await assert.rejects(store.sql.ping(), /could not make its log durable/);
  } finally {
    await store.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
