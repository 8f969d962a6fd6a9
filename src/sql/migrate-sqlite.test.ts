import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { migrateSqlite } from './migrate-sqlite.ts';
import type { Migration } from './migration.ts';

const M: Migration[] = [
  { version: 2, name: '002_b', sql: 'ALTER TABLE a ADD COLUMN y TEXT' },
  { version: 1, name: '001_a', sql: 'CREATE TABLE a (x INTEGER)' },
];
const rows = (db: DatabaseSync, sql: string) =>
  db
    .prepare(sql)
    .all()
    .map((r) => ({ ...r }));

describe('migrateSqlite', () => {
  test('applies the pending migrations once, in version order, recording each', () => {
    const db = new DatabaseSync(':memory:');
    assert.deepEqual(migrateSqlite(db, M.slice(1), 100), [1]);
    assert.deepEqual(migrateSqlite(db, M, 200), [2]);
    assert.deepEqual(migrateSqlite(db, M, 300), []);
    assert.deepEqual(rows(db, 'SELECT version, name, applied_at FROM schema_migrations ORDER BY version'), [
      { version: 1, name: '001_a', applied_at: 100 },
      { version: 2, name: '002_b', applied_at: 200 },
    ]);
    db.close();
  });

  test('a database with a version it does not know is refused untouched', () => {
    const db = new DatabaseSync(':memory:');
    migrateSqlite(db, M, 1);
    db.exec("INSERT INTO schema_migrations VALUES (9, '009_future', 0)");
    assert.throws(
      () => migrateSqlite(db, [...M, { version: 3, name: '003_c', sql: 'CREATE TABLE c (x)' }], 2),
      {
        code: 'WARRANT_STORE_SCHEMA_UNSUPPORTED',
        message: 'database has schema version 9, newer than this Warrant',
      },
    );
    assert.equal(rows(db, "SELECT name FROM sqlite_master WHERE name = 'c'").length, 0);
    db.close();
  });

  test('a failing migration leaves nothing of the call applied', () => {
    const db = new DatabaseSync(':memory:');
    assert.throws(() =>
      migrateSqlite(db, [...M, { version: 3, name: '003_bad', sql: 'CREATE TABLE a (x)' }], 1),
    );
    assert.equal(rows(db, "SELECT name FROM sqlite_master WHERE name = 'a'").length, 0);
    assert.equal(db.isTransaction, false);
    db.close();
  });

  test('another migrations table keeps two stores of one file apart; a bad name is refused', () => {
    const db = new DatabaseSync(':memory:');
    migrateSqlite(db, M.slice(1), 1);
    assert.deepEqual(
      migrateSqlite(db, [{ version: 1, name: '001_other', sql: 'CREATE TABLE o (x)' }], 1, {
        table: 'other_migrations',
      }),
      [1],
    );
    assert.deepEqual(rows(db, 'SELECT name FROM other_migrations'), [{ name: '001_other' }]);
    assert.throws(() => migrateSqlite(db, M, 1, { table: 'x; DROP TABLE a' }), TypeError);
    db.close();
  });
});
