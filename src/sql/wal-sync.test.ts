import assert from 'node:assert/strict';
import { type fdatasync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GroupCommit } from '../store/sqlite/group-commit.ts';
import { connectSqlite } from './sqlite-open.ts';
import { WalSync } from './wal-sync.ts';

const dir = mkdtempSync(join(tmpdir(), 'warrant-walsync-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A WalSync over a real `-wal` file whose fdatasync calls are held until the test lets them finish. */
function heldSync(name: string) {
  const path = join(dir, name);
  writeFileSync(`${path}-wal`, 'frames');
  const calls: ((error: NodeJS.ErrnoException | null) => void)[] = [];
  const fake = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    assert.equal(typeof fd, 'number');
    calls.push(callback);
  }) as typeof fdatasync;
  return { sync: new WalSync(path, { fdatasync: fake, inline: () => false }), calls };
}

const settled = async (p: Promise<unknown>) => {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

describe('WalSync', () => {
  test('a caller during a sync waits for the next one; callers queued behind a sync share the next', async () => {
    const { sync, calls } = heldSync('a.db');
    const first = sync.sync();
    assert.equal(calls.length, 1);
    // Their commits may have been written after the running sync started: it cannot acknowledge them.
    const late = [sync.sync(), sync.sync()];
    assert.equal(calls.length, 1, 'no second sync while one is in flight');
    calls[0]!(null);
    await first;
    assert.equal(
      await settled(Promise.all(late)),
      'pending',
      'the first sync does not acknowledge a later commit',
    );
    assert.equal(calls.length, 2, 'the next sync starts as soon as the first ends, for both late callers');
    calls[1]!(null);
    await Promise.all(late);
    assert.equal(calls.length, 2);
    await sync.close();
  });

  test('a failed fdatasync refuses its waiters, the queued ones and every later call (fails closed)', async () => {
    const { sync, calls } = heldSync('b.db');
    assert.equal(sync.failed, false);
    const waiting = sync.sync();
    const queued = sync.sync().catch((e: Error) => e);
    queued.catch(() => {});
    const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    // A second caller joins while the first sync is in flight, then the sync fails.
    const second = sync.sync();
    calls[0]!(eio);
    await assert.rejects(waiting, { message: 'the store could not make its log durable (fdatasync failed)' });
    await assert.rejects(second, { message: /fdatasync failed/ });
    assert.match(String(await queued), /fdatasync failed/);
    await assert.rejects(sync.sync(), { message: /fdatasync failed/ });
    assert.equal(calls.length, 1, 'nothing is retried after a failed sync');
    assert.equal(sync.failed, true);
    await sync.close();
  });

  test('a missing WAL is a refusal, not a silent success (on the pool and inline)', async () => {
    await assert.rejects(new WalSync(join(dir, 'none.db'), { inline: () => false }).sync(), {
      message: /fdatasync failed/,
    });
    await assert.rejects(new WalSync(join(dir, 'none.db'), { inline: () => true }).sync(), {
      message: /fdatasync failed/,
    });
  });

  test('serving one request at a time, the fdatasync runs inline; a failure there is final too', async () => {
    const path = join(dir, 'e.db');
    writeFileSync(`${path}-wal`, 'frames');
    let inlineCalls = 0;
    let poolCalls = 0;
    let fail = false;
    const sync = new WalSync(path, {
      inline: () => true,
      fdatasyncSync: () => {
        inlineCalls++;
        if (fail) throw Object.assign(new Error('EIO'), { code: 'EIO' });
      },
      fdatasync: ((_fd: number, cb: (e: null) => void) => {
        poolCalls++;
        cb(null);
      }) as typeof fdatasync,
    });
    await sync.sync();
    await sync.sync();
    assert.deepEqual([inlineCalls, poolCalls], [2, 0]);
    fail = true;
    await assert.rejects(sync.sync(), { message: /fdatasync failed/ });
    fail = false;
    await assert.rejects(sync.sync(), { message: /fdatasync failed/ }, 'no retry after a failed fdatasync');
    assert.equal(inlineCalls, 3);
    await sync.close();
  });

  test('with the real fdatasync on a real database, writes through GroupCommit resolve after the sync', async () => {
    const path = join(dir, 'c.db');
    const db = connectSqlite(path, { synchronous: 'normal', busyTimeoutMs: 1000 });
    db.exec('CREATE TABLE t (x INTEGER)');
    const sync = new WalSync(path);
    let syncs = 0;
    const group = new GroupCommit(db, () => {
      syncs++;
      return sync.sync();
    });
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const writes = Array.from({ length: 20 }, (_, i) => group.write(() => insert.run(i)));
    await Promise.all(writes);
    assert.equal(syncs, 1, 'one group, one durability wait');
    assert.equal(db.prepare('SELECT count(*) AS n FROM t').get()!['n'], 20);
    await sync.close();
    db.close();
  });

  test('GroupCommit: a failed durability wait rejects the committed writes; a write that failed keeps its own error', async () => {
    const db = connectSqlite(join(dir, 'd.db'), { synchronous: 'normal', busyTimeoutMs: 1000 });
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const group = new GroupCommit(db, () => Promise.reject(new Error('disk gone')));
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const ok = group.write(() => insert.run(1));
    const dup = group.write(() => insert.run(1));
    await assert.rejects(ok, { message: 'disk gone' });
    await assert.rejects(dup, { code: 'ERR_SQLITE_ERROR' });
    db.close();
  });
});
