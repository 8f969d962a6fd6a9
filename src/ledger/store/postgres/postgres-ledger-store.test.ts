import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { postgresSchemas } from '../../../../test/support/postgres-schemas.ts';
import { requirePostgres, POSTGRES_URL as URL } from '../../../../test/support/services.ts';
import { ledgerStoreContract } from '../contract.ts';
import type { LedgerStore } from '../ports.ts';
import { openPostgresLedgerStore } from './postgres-ledger-store.ts';

await requirePostgres();
const { admin, fresh: freshSchema, drop, dropAll } = postgresSchemas('warrant_ledger_test');
const schemaOf = new WeakMap<LedgerStore, string>();

async function open(schema: string): Promise<LedgerStore> {
  const store = await openPostgresLedgerStore({ url: URL, schema });
  schemaOf.set(store, schema);
  return store;
}

after(dropAll);

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
  test('tables live in the named schema, migrations 1 and 2 recorded', async () => {
    const schema = freshSchema();
    await (await open(schema)).close();
    const { rows } = await admin.query(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [schema],
    );
    assert.deepEqual(
      rows.map((r) => r.table_name),
      [
        'ledger_checkpoints',
        'ledger_lease',
        'ledger_pending',
        'ledger_records',
        'ledger_tiles',
        'schema_migrations',
      ],
    );
    const versions = await admin.query(
      `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`,
    );
    assert.deepEqual(versions.rows, [
      { version: 1, name: '001_ledger' },
      { version: 2, name: '002_replicated' },
    ]);
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
