import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { postgresSchemas } from '../../test/support/postgres-schemas.ts';
import { requirePostgres, POSTGRES_URL as URL } from '../../test/support/services.ts';
import { migratePostgres } from './migrate-postgres.ts';
import type { Migration } from './migration.ts';
import * as sql from './postgres.ts';

await requirePostgres();
const { admin, fresh: freshSchema, dropAll } = postgresSchemas('warrant_sql_test');
after(dropAll);
const M: Migration[] = [
  { version: 1, name: '001_t', sql: 'CREATE TABLE t (x BIGINT)' },
  { version: 2, name: '002_u', sql: 'CREATE TABLE u (y TEXT)' },
];

describe('PostgreSQL plumbing', () => {
  test('the pool uses the schema and settings, reads BIGINT as numbers; migrations apply once', async () => {
    const schema = freshSchema();
    const pool = sql.createPostgresPool({
      url: URL,
      schema,
      max: 2,
      settings: { synchronous_commit: 'off' },
    });
    try {
      assert.deepEqual(await sql.migratePool(pool, schema, M, 1000), [1, 2]);
      assert.deepEqual(await sql.migratePool(pool, schema, M, 2000), []);
      await pool.query('INSERT INTO t VALUES (9007199254740991)');
      const { rows } = await pool.query('SELECT x, current_setting($1) AS sc FROM t', ['synchronous_commit']);
      assert.deepEqual(rows, [{ x: 9007199254740991, sc: 'off' }]);
      const applied = await admin.query(
        `SELECT version, applied_at::int AS at FROM "${schema}".schema_migrations ORDER BY 1`,
      );
      assert.deepEqual(applied.rows, [
        { version: 1, at: 1000 },
        { version: 2, at: 1000 },
      ]);
    } finally {
      await pool.end();
    }
  });

  test('a schema with a version this code does not know is refused; replicas migrate a new schema once', async () => {
    const schema = freshSchema();
    const clients = await Promise.all([admin.connect(), admin.connect()]);
    try {
      const done = await Promise.all(
        clients.map((c) => migratePostgres(c, schema, M, 1, { table: 'my_migrations' })),
      );
      assert.deepEqual(done.flat().sort(), [1, 2]);
      await admin.query(`INSERT INTO "${schema}".my_migrations VALUES (7, '007_future', 0)`);
      await assert.rejects(migratePostgres(clients[0]!, schema, M, 1, { table: 'my_migrations' }), {
        code: 'WARRANT_STORE_SCHEMA_UNSUPPORTED',
        message: `schema ${schema} has version 7, newer than this Warrant`,
      });
    } finally {
      for (const c of clients) c.release();
    }
  });

  test('options are checked before anything connects', () => {
    assert.throws(() => sql.checkPostgresUrl('mysql://x'), TypeError);
    assert.equal(sql.checkPostgresUrl('postgresql://h/db'), 'postgresql://h/db');
    assert.throws(() => sql.checkSchemaName('Bad-Name'), TypeError);
    assert.throws(() => sql.createPostgresPool({ url: URL, schema: 'x"; --', max: 1 }), TypeError);
    assert.throws(
      () => sql.createPostgresPool({ url: URL, schema: 'x', max: 1, settings: { 'a b': 'c' } }),
      TypeError,
    );
  });

  test('one and all read rows; a unique violation is told by its SQLSTATE', async () => {
    const schema = freshSchema();
    const pool = sql.createPostgresPool({ url: URL, schema, max: 1 });
    try {
      await sql.migratePool(
        pool,
        schema,
        [{ version: 1, name: '001_k', sql: 'CREATE TABLE k (x INT PRIMARY KEY)' }],
        1,
      );
      await pool.query('INSERT INTO k VALUES (1), (2)');
      const statement = sql.statements('warrant_test');
      assert.deepEqual(await sql.all(pool, statement('all_k', 'SELECT x FROM k ORDER BY x')()), [
        { x: 1 },
        { x: 2 },
      ]);
      assert.deepEqual(await sql.one(pool, statement('one_k', 'SELECT x FROM k WHERE x = $1')([2])), {
        x: 2,
      });
      assert.equal(await sql.one(pool, statement('one_k', 'SELECT x FROM k WHERE x = $1')([3])), undefined);
      const error = await pool.query('INSERT INTO k VALUES (1)').catch((e: unknown) => e);
      assert.equal(sql.pgCode(error), sql.UNIQUE_VIOLATION);
      assert.equal(sql.pgCode(new Error('x')), undefined);
      assert.equal(sql.pgCode(null), undefined);
    } finally {
      await pool.end();
    }
  });

  test('named statements carry the store prefix', () => {
    const statement = sql.statements('warrant_test');
    assert.deepEqual(statement('get', 'SELECT 1')([1]), {
      name: 'warrant_test_get',
      text: 'SELECT 1',
      values: [1],
    });
    assert.deepEqual(statement('all', 'SELECT 2')(), {
      name: 'warrant_test_all',
      text: 'SELECT 2',
      values: [],
    });
  });
});
