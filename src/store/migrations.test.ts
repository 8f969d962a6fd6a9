import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from './migrations.ts';

describe('STS store migrations', () => {
  test('one text per migration in each dialect', () => {
    const names = (ms: typeof SQLITE_MIGRATIONS) => ms.map((m) => `${m.version} ${m.name}`);
    assert.deepEqual(names(SQLITE_MIGRATIONS), [
      '1 001_initial',
      '2 002_agent_client_ids',
      '3 003_tokens_rowid',
      '4 004_tokens_fillfactor',
    ]);
    assert.deepEqual(names(POSTGRES_MIGRATIONS), names(SQLITE_MIGRATIONS));
    const sqlite = SQLITE_MIGRATIONS.map((m) => m.sql).join('');
    const postgres = POSTGRES_MIGRATIONS.map((m) => m.sql).join('');
    assert.doesNotMatch(sqlite, /COLLATE|BIGINT|BYTEA/);
    assert.equal(sqlite.match(/\) STRICT;/g)?.length, 5);
    assert.equal(sqlite.match(/\) STRICT, WITHOUT ROWID;/g)?.length, 5);
    assert.doesNotMatch(postgres, /STRICT|ROWID|BLOB/);
    // Every text column orders by code point, as SQLite's BINARY does.
    assert.doesNotMatch(postgres, /TEXT(?! COLLATE "C")/);
    assert.match(postgres, /bits BYTEA NOT NULL/);
    assert.match(postgres, /created_at BIGINT NOT NULL/);
  });
});
