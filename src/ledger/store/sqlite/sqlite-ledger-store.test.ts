import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { requestsInFlight } from '../../../core/load.ts';
import { recordLeafHash } from '../../canonical-record.ts';
import { LedgerConflictError } from '../../errors.ts';
import { ledgerStoreContract } from '../contract.ts';
import type { LedgerEntry, LedgerStore } from '../ports.ts';
import { openSqliteLedgerStore } from './sqlite-ledger-store.ts';

const root = mkdtempSync(join(tmpdir(), 'warrant-ledger-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(root, `db-${++files}`, 'ledger.db');
const pathOf = new WeakMap<LedgerStore, string>();

async function open(path: string, synchronous: 'full' | 'normal' = 'full'): Promise<LedgerStore> {
  const store = await openSqliteLedgerStore({ path, synchronous });
  pathOf.set(store, path);
  return store;
}

/** Runs `body` as if the process were answering `n` requests (the store then appends on its writer thread). */
function underLoad(n: number, body: () => void): void {
  describe(`with ${n} requests in flight`, () => {
    before(() => {
      requestsInFlight.count += n;
    });
    after(() => {
      requestsInFlight.count -= n;
    });
    body();
  });
}

const contract = (synchronous: 'full' | 'normal', where: string) =>
  ledgerStoreContract(`sqlite (WAL, synchronous=${synchronous}, appends ${where})`, {
    open: () => open(freshPath(), synchronous),
    dispose: async (store) => {
      await store.close();
      rmSync(join(pathOf.get(store)!, '..'), { recursive: true, force: true });
    },
    reopen: async (store) => {
      await store.close();
      return open(pathOf.get(store)!, synchronous);
    },
  });

// One request at a time (the tests' own state): appends commit inline on the store's connection.
for (const synchronous of ['full', 'normal'] as const) contract(synchronous, 'inline');
// Under load: appends go to the writer thread.
underLoad(2, () => {
  for (const synchronous of ['full', 'normal'] as const) contract(synchronous, 'on the writer thread');
});

/** A stored entry whose text is `{"index":i}` (its leaf hash computed), no query columns. */
function entry(i: number): LedgerEntry {
  const canonical = `{"index":${i}}`;
  return {
    index: i,
    leafHash: recordLeafHash(canonical),
    canonical,
    time: i,
    txn: null,
    person: null,
    caller: null,
    action: null,
    decision: null,
  };
}

describe('SQLite ledger store', () => {
  test('the file is created 0600 in a 0700 directory, in WAL mode, with migration 1 recorded', async () => {
    const path = freshPath();
    const store = await open(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    await store.close();
    const db = new DatabaseSync(path);
    assert.equal(db.prepare('PRAGMA journal_mode').get()!['journal_mode'], 'wal');
    assert.deepEqual(
      db
        .prepare('SELECT version, name FROM schema_migrations')
        .all()
        .map((r) => ({ ...r })),
      [
        { version: 1, name: '001_ledger' },
        { version: 2, name: '002_replicated' },
      ],
    );
    db.close();
  });

  test('a file written by a newer Warrant is refused', async () => {
    const path = freshPath();
    await (await open(path)).close();
    const db = new DatabaseSync(path);
    db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '999_future', 0)",
    ).run();
    db.close();
    await assert.rejects(open(path), { code: 'WARRANT_STORE_SCHEMA_UNSUPPORTED' });
  });

  test('verifyLeaves names the first record whose text does not hash to its leaf hash, or that is missing', async () => {
    const path = freshPath();
    let store = await open(path);
    await store.appendBatch(Array.from({ length: 10 }, (_, i) => entry(i)));
    assert.equal(await store.verifyLeaves!(0, 10), null);
    await store.close();
    const db = new DatabaseSync(path);
    db.exec(`UPDATE ledger_records SET canonical = '{"index":77}' WHERE idx = 7`);
    db.exec('DELETE FROM ledger_records WHERE idx = 4');
    db.close();
    store = await open(path);
    assert.equal(await store.verifyLeaves!(0, 10), 4);
    assert.equal(await store.verifyLeaves!(5, 10), 7);
    assert.equal(await store.verifyLeaves!(8, 10), null);
    await store.close();
  });

  test('appends committed inline and on the writer thread make one sequence; a stale batch is a conflict on either', async () => {
    const path = freshPath();
    const store = await open(path);
    const append = async (inline: boolean, from: number, n: number) => {
      if (!inline) requestsInFlight.count += 2;
      try {
        await store.appendBatch(
          Array.from({ length: n }, (_, i) => ({ ...entry(from + i), person: 'alice', decision: 'allow' })),
        );
      } finally {
        if (!inline) requestsInFlight.count -= 2;
      }
    };
    await append(true, 0, 3);
    await append(false, 3, 4);
    await append(true, 7, 1);
    await append(false, 8, 2);
    assert.equal(await store.count(), 10);
    assert.equal(await store.verifyLeaves!(0, 10), null);
    await assert.rejects(append(true, 5, 1), LedgerConflictError);
    await assert.rejects(append(false, 5, 1), LedgerConflictError);
    assert.deepEqual(
      (await store.entries(0, 10)).map((e) => [e.index, e.person, e.decision]),
      Array.from({ length: 10 }, (_, i) => [i, 'alice', 'allow']),
    );
    await store.close();
  });

  test('below its bound appends leave the WAL to the checkpointer thread, inline or on the writer thread', async () => {
    const path = freshPath();
    // A checkpointer that would wait a minute: during the test only appends could copy the WAL.
    const store = await openSqliteLedgerStore({ path, walCheckpointMs: 60_000 });
    const text = 'x'.repeat(3000);
    const fat = (i: number): LedgerEntry => {
      const canonical = `{"index":${i},"pad":"${text}"}`;
      return { ...entry(i), canonical, leafHash: recordLeafHash(canonical) };
    };
    const dbSize = statSync(path).size;
    // 2,400 records of ~3 KiB: ~2,000 WAL pages, twice what SQLite's automatic checkpoint lets the WAL hold.
    for (let b = 0; b < 24; b++) {
      const inline = b % 2 === 0;
      if (!inline) requestsInFlight.count += 2;
      try {
        await store.appendBatch(Array.from({ length: 100 }, (_, i) => fat(b * 100 + i)));
      } finally {
        if (!inline) requestsInFlight.count -= 2;
      }
    }
    assert.ok(statSync(`${path}-wal`).size > 1500 * 4096, 'the WAL grew past the automatic checkpoint');
    assert.equal(statSync(path).size, dbSize, 'nothing was copied into the database file by an append');
    await store.close();
    // At close the WAL is copied into the database file.
    assert.ok(statSync(path).size > 2000 * 4096);
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(db.prepare('SELECT count(*) AS n FROM ledger_records').get()!['n'], 2400);
    db.close();
  });

  test('appends that never pause keep the WAL within its bound, inline and on the writer thread', async () => {
    for (const inline of [true, false]) {
      const path = freshPath();
      const store = await openSqliteLedgerStore({ path, walBoundPages: 256 });
      const text = 'x'.repeat(3000);
      if (!inline) requestsInFlight.count += 2;
      try {
        for (let b = 0; b < 40; b++) {
          await store.appendBatch(
            Array.from({ length: 50 }, (_, i) => {
              const canonical = `{"index":${b * 50 + i},"pad":"${text}"}`;
              return { ...entry(b * 50 + i), canonical, leafHash: recordLeafHash(canonical) };
            }),
          );
        }
      } finally {
        if (!inline) requestsInFlight.count -= 2;
      }
      // 2,000 records of ~3 KiB: ~1,700 pages of WAL without a bound; one batch is ~40 pages.
      const size = statSync(`${path}-wal`).size;
      assert.ok(
        size <= 384 * (4096 + 24),
        `WAL of ${size} bytes is past its bound of 256 pages (inline: ${inline})`,
      );
      assert.equal(await store.count(), 2000);
      await store.close();
    }
  });

  test('options are checked before anything is opened', async () => {
    await assert.rejects(openSqliteLedgerStore({ path: ':memory:' }), TypeError);
    await assert.rejects(
      openSqliteLedgerStore({ path: freshPath(), synchronous: 'off' as never }),
      TypeError,
    );
    await assert.rejects(openSqliteLedgerStore({ path: freshPath(), walCheckpointMs: 0 }), TypeError);
    await assert.rejects(openSqliteLedgerStore({ path: freshPath(), walBoundPages: 0 }), TypeError);
  });
});
