import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POSTGRES_LEDGER_MIGRATIONS, SQLITE_LEDGER_MIGRATIONS } from './migrations.ts';
import { CHECKPOINTS, queryPage, querySql, RECORDS } from './rows.ts';

describe('ledger rows', () => {
  test('a row maps to an entry and a checkpoint; byte columns become plain Uint8Arrays', () => {
    const hash = Buffer.alloc(32, 7);
    const columns = { txn: 't', person: null, caller: 'c', action: null, decision: 'allow' };
    const entry = RECORDS.fromRow({ idx: 3, leaf_hash: hash, canonical: '{}', time: 10, ...columns });
    assert.equal(Object.getPrototypeOf(entry.leafHash), Uint8Array.prototype);
    assert.deepEqual(
      { ...entry, leafHash: [...entry.leafHash] },
      { index: 3, leafHash: [...hash], canonical: '{}', time: 10, ...columns },
    );
    const cp = CHECKPOINTS.fromRow({ size: '5', root: new Uint8Array(32), note: 'n', time: '7' });
    assert.deepEqual(cp, { size: 5, root: new Uint8Array(32), note: 'n', time: 7 });
  });

  test('querySql: every field given, in one order, with the dialect placeholders and limit + 1', () => {
    assert.deepEqual(
      querySql({ limit: 10 }, () => '?'),
      {
        text: 'SELECT idx, leaf_hash, canonical, time, txn, person, caller, action, decision FROM ledger_records ORDER BY idx LIMIT ?',
        values: [11],
      },
    );
    const q = { txn: 't', decision: 'deny', since: 5, until: 9, after: 2, limit: 3 };
    assert.deepEqual(
      querySql(q, (n) => `$${n}`),
      {
        text:
          'SELECT idx, leaf_hash, canonical, time, txn, person, caller, action, decision FROM ledger_records ' +
          'WHERE txn = $1 AND decision = $2 AND time >= $3 AND time < $4 AND idx > $5 ORDER BY idx LIMIT $6',
        values: ['t', 'deny', 5, 9, 2, 4],
      },
    );
  });

  test('queryPage: a next index only when there was one row more than the limit', () => {
    const rows = (n: number) =>
      Array.from({ length: n }, (_, i) => RECORDS.fromRow({ idx: i, leaf_hash: new Uint8Array(32) }));
    assert.deepEqual(queryPage(rows(2), 2).next, null);
    const page = queryPage(rows(3), 2);
    assert.deepEqual([page.items.length, page.next], [2, 1]);
  });
});

describe('ledger migrations', () => {
  test('one text per migration in each dialect', () => {
    const [sqlite] = SQLITE_LEDGER_MIGRATIONS;
    const [postgres] = POSTGRES_LEDGER_MIGRATIONS;
    assert.deepEqual(
      [sqlite!.version, sqlite!.name, postgres!.version, postgres!.name],
      [1, '001_ledger', 1, '001_ledger'],
    );
    assert.match(sqlite!.sql, /idx INTEGER PRIMARY KEY/);
    assert.match(sqlite!.sql, /leaf_hash BLOB NOT NULL/);
    assert.equal(sqlite!.sql.match(/\) STRICT;/g)?.length, 2);
    assert.match(postgres!.sql, /idx BIGINT PRIMARY KEY/);
    const [, sqlite2, postgres2] = [0, SQLITE_LEDGER_MIGRATIONS[1]!, POSTGRES_LEDGER_MIGRATIONS[1]!];
    assert.deepEqual(
      [sqlite2.version, sqlite2.name, postgres2.name],
      [2, '002_replicated', '002_replicated'],
    );
    assert.match(sqlite2.sql, /seq INTEGER PRIMARY KEY/);
    assert.match(postgres2.sql, /seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY/);
    assert.match(postgres!.sql, /root BYTEA NOT NULL/);
    assert.doesNotMatch(postgres!.sql, /STRICT/);
  });
});
