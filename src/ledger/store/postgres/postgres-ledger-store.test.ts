import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { requirePostgres, POSTGRES_URL as URL } from '../../../../test/support/services.ts';
import { ledgerStoreContract } from '../contract.ts';
import type { LedgerStore } from '../ports.ts';
import { openPostgresLedgerStore } from './postgres-ledger-store.ts';

await requirePostgres();
const admin = new pg.Pool({ connectionString: URL, max: 2 });
const created = new Set<string>();
const schemaOf = new WeakMap<LedgerStore, string>();

/** A schema of its own for every store, so parallel runs never collide; all are dropped at the end. */
function freshSchema(): string {
  const schema = `warrant_ledger_test_${randomBytes(6).toString('hex')}`;
  created.add(schema);
  return schema;
}

async function drop(schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  created.delete(schema);
}

async function open(schema: string): Promise<LedgerStore> {
  const store = await openPostgresLedgerStore({ url: URL, schema });
  schemaOf.set(store, schema);
  return store;
}

after(async () => {
  for (const schema of [...created]) await drop(schema);
  await admin.end();
});

ledgerStoreContract('postgres', {
  open: () => open(freshSchema()),
  dispose: async (store) => {
    await store.close();
    await drop(schemaOf.get(store)!);
  },
  reopen: async (store) => {
    await store.close();
    return open(schemaOf.get(store)!);
  },
});

describe('PostgreSQL ledger store', () => {
  test('tables live in the named schema, migration 1 recorded', async () => {
    const schema = freshSchema();
    await (await open(schema)).close();
    const { rows } = await admin.query(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [schema],
    );
    assert.deepEqual(
      rows.map((r) => r.table_name),
      ['ledger_checkpoints', 'ledger_records', 'schema_migrations'],
    );
    const versions = await admin.query(`SELECT version, name FROM "${schema}".schema_migrations`);
    assert.deepEqual(versions.rows, [{ version: 1, name: '001_ledger' }]);
  });

  test('two writers racing for the same index: one wins, the other gets a conflict', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const e = (i: number, tag: string) => ({
      index: i,
      leafHash: new Uint8Array(32).fill(tag.charCodeAt(0)),
      canonical: `{"index":${i},"w":"${tag}"}`,
      time: 1,
      txn: null,
      person: null,
      caller: null,
      action: null,
      decision: null,
    });
    const results = await Promise.allSettled([a.appendBatch([e(0, 'a')]), b.appendBatch([e(0, 'b')])]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal(failed.reason.code, 'WARRANT_LEDGER_CONFLICT');
    assert.equal(await a.count(), 1);
    await Promise.all([a.close(), b.close()]);
  });

  test('options are validated before connecting', async () => {
    await assert.rejects(openPostgresLedgerStore({ url: URL, schema: 'Bad-Name' }), TypeError);
    await assert.rejects(openPostgresLedgerStore({ url: 'mysql://x' }), TypeError);
  });
});
