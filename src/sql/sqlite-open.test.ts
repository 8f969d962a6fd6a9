import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Migration } from './migration.ts';
import { connectSqlite, openSqliteFile } from './sqlite-open.ts';

const root = mkdtempSync(join(tmpdir(), 'warrant-sql-'));
after(() => rmSync(root, { recursive: true, force: true }));
const M: Migration[] = [{ version: 1, name: '001_t', sql: 'CREATE TABLE t (x INTEGER) STRICT' }];
const pragma = (db: ReturnType<typeof connectSqlite>, name: string) =>
  Object.values(db.prepare(`PRAGMA ${name}`).get()!)[0];

describe('openSqliteFile', () => {
  test('creates the file 0600 in a 0700 directory, WAL, the durability and busy timeout asked, migrated', () => {
    const path = join(root, 'a', 'b', 'x.db');
    const db = openSqliteFile(path, { synchronous: 'normal', busyTimeoutMs: 1234, migrations: M, now: 5 });
    db.exec('INSERT INTO t VALUES (1)');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'a', 'b')).mode & 0o777, 0o700);
    assert.equal(pragma(db, 'journal_mode'), 'wal');
    assert.equal(pragma(db, 'synchronous'), 1); // NORMAL
    assert.equal(pragma(db, 'busy_timeout'), 1234);
    assert.deepEqual(
      { ...db.prepare('SELECT version, applied_at FROM schema_migrations').get() },
      {
        version: 1,
        applied_at: 5,
      },
    );
    db.close();
  });

  test('a database that cannot be migrated is closed and the error thrown', () => {
    const path = join(root, 'newer.db');
    openSqliteFile(path, { synchronous: 'full', busyTimeoutMs: 0, migrations: M, now: 1 }).close();
    assert.throws(
      () => openSqliteFile(path, { synchronous: 'full', busyTimeoutMs: 0, migrations: [], now: 1 }),
      {
        code: 'WARRANT_STORE_SCHEMA_UNSUPPORTED',
      },
    );
  });

  test(':memory: opens without a file', () => {
    const db = openSqliteFile(':memory:', { synchronous: 'normal', busyTimeoutMs: 0, migrations: M, now: 1 });
    assert.equal(pragma(db, 'journal_mode'), 'memory');
    db.close();
  });
});

describe('connectSqlite', () => {
  test('another connection: WAL, FULL durability, busy timeout and journal size limit', () => {
    const path = join(root, 'c.db');
    openSqliteFile(path, { synchronous: 'normal', busyTimeoutMs: 0, migrations: M, now: 1 }).close();
    const db = connectSqlite(path, { synchronous: 'full', busyTimeoutMs: 50, journalSizeLimit: 1 << 20 });
    assert.equal(pragma(db, 'journal_mode'), 'wal');
    assert.equal(pragma(db, 'synchronous'), 2); // FULL
    assert.equal(pragma(db, 'busy_timeout'), 50);
    assert.equal(pragma(db, 'journal_size_limit'), 1 << 20);
    db.close();
  });
});
