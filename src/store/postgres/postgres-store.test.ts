import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { issuedToken } from '../../../test/support/issued-token.ts';
import { postgresSchemas } from '../../../test/support/postgres-schemas.ts';
import { requirePostgres, POSTGRES_URL as URL } from '../../../test/support/services.ts';
import { migratePostgres } from '../../sql/migrate-postgres.ts';
import { storeContract } from '../contract.ts';
import { POSTGRES_MIGRATIONS } from '../migrations.ts';
import { openStore } from '../open-store.ts';
import type { Store } from '../ports.ts';
import { assertUpgradedFromV1 } from '../upgrade-contract.ts';

await requirePostgres();
const { admin, fresh: freshSchema, drop, dropAll } = postgresSchemas('warrant_test');
const schemaOf = new WeakMap<Store, string>();
after(dropAll);

storeContract(
  'postgres',
  async (clock) => {
    const schema = freshSchema();
    const store = await openStore({ kind: 'postgres', url: URL, schema, clock });
    schemaOf.set(store, schema);
    return store;
  },
  async (store) => {
    await store.close();
    await drop(schemaOf.get(store)!);
  },
);

describe('PostgreSQL store', () => {
  test('opening twice applies each migration once and records its version', async () => {
    const schema = freshSchema();
    await (await openStore({ kind: 'postgres', url: URL, schema, clock: () => 1000 })).close();
    await (await openStore({ kind: 'postgres', url: URL, schema, clock: () => 2000 })).close();
    const { rows } = await admin.query(
      `SELECT version, name, applied_at::int AS applied_at FROM "${schema}".schema_migrations`,
    );
    assert.deepEqual(rows, [
      { version: 1, name: '001_initial', applied_at: 1000 },
      { version: 2, name: '002_agent_client_ids', applied_at: 1000 },
      { version: 3, name: '003_tokens_rowid', applied_at: 1000 },
      { version: 4, name: '004_tokens_fillfactor', applied_at: 1000 },
    ]);
    // Revoking a token is a HOT update: half of each page is left free for it.
    const options = await admin.query(
      `SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = 'tokens'`,
      [schema],
    );
    assert.deepEqual(options.rows[0].reloptions, ['fillfactor=50']);
    const client = await admin.connect();
    try {
      assert.deepEqual(await migratePostgres(client, schema, POSTGRES_MIGRATIONS, 3000), []);
    } finally {
      client.release();
    }
  });

  test('replicas opening a new schema at once migrate it exactly once', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => openStore({ kind: 'postgres', url: URL, schema, poolSize: 2 })),
    );
    await Promise.all(stores.map((s) => s.close()));
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
    assert.equal(rows[0].n, POSTGRES_MIGRATIONS.length);
  });

  test('a schema written by a newer Warrant is refused', async () => {
    const schema = freshSchema();
    await (await openStore({ kind: 'postgres', url: URL, schema })).close();
    await admin.query(`INSERT INTO "${schema}".schema_migrations VALUES (999, '999_future', 0)`);
    await assert.rejects(openStore({ kind: 'postgres', url: URL, schema }), {
      code: 'WARRANT_STORE_SCHEMA_UNSUPPORTED',
    });
  });

  test('tables live in the named schema only', async () => {
    const schema = freshSchema();
    const store = await openStore({ kind: 'postgres', url: URL, schema });
    await store.statusLists.allocate('L');
    await store.close();
    const { rows } = await admin.query(
      'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    assert.equal(rows[0].n, 10);
  });

  test('a schema at version 1 is upgraded: its agents get no client ids, its issuers the defaults', async () => {
    const schema = freshSchema();
    const client = await admin.connect();
    try {
      await migratePostgres(client, schema, POSTGRES_MIGRATIONS.slice(0, 1), 1000);
      await client.query(
        `INSERT INTO "${schema}".agents VALUES ('spiffe://e/agent/a', 'a', 'o', 't', 0, '[]', 1, 'active', '{}', 'j', '[]', 1, 1)`,
      );
      await client.query(
        `INSERT INTO "${schema}".issuers VALUES ('https://idp', 'oidc', 'aud', 'https://idp/jwks', NULL, NULL)`,
      );
    } finally {
      client.release();
    }
    await assertUpgradedFromV1(await openStore({ kind: 'postgres', url: URL, schema }));
  });

  test('options are validated before connecting', async () => {
    await assert.rejects(openStore({ kind: 'postgres', url: URL, schema: 'Bad-Name' }), TypeError);
    await assert.rejects(openStore({ kind: 'postgres', url: 'mysql://x' }), TypeError);
    await assert.rejects(openStore({ kind: 'other' } as never), TypeError);
  });

  test('tokens recorded in one turn go in one statement (one transaction), revoked parents included', async () => {
    const schema = freshSchema();
    const store = await openStore({ kind: 'postgres', url: URL, schema, clock: () => 1000 });
    try {
      await store.tokens.record(issuedToken('p-live'));
      await store.tokens.record(issuedToken('p-gone'));
      await store.tokens.revoke({ hash: 'p-gone' }, 'gone', 1500);
      const slot = await store.statusLists.allocate('L');
      const children = Array.from({ length: 10 }, (_, i) =>
        issuedToken(`c-${i}`, {
          parentHash: i === 0 ? 'p-gone' : 'p-live',
          actors: ['spiffe://example.org/agent/b', 'spiffe://example.org/agent/a'],
          statusList: i === 0 ? 'L' : null,
          statusIdx: i === 0 ? slot : null,
        }),
      );
      const stored = await Promise.all(children.map((c) => store.tokens.record(c)));
      assert.deepEqual(stored[0], { ...children[0], revokedAt: 1500, revokeReason: 'gone' });
      assert.deepEqual(stored.slice(1), children.slice(1));
      const { rows } = await admin.query(
        `SELECT count(DISTINCT xmin::text)::int AS transactions, count(*)::int AS n
         FROM "${schema}".tokens WHERE hash LIKE 'c-%'`,
      );
      assert.deepEqual(rows[0], { transactions: 1, n: 10 });
      const actors = await admin.query(
        `SELECT count(*)::int AS n FROM "${schema}".token_actors WHERE hash LIKE 'c-%'`,
      );
      assert.equal(actors.rows[0].n, 20);
      assert.deepEqual([...(await store.statusLists.get('L'))!.bits], [0b1]);
    } finally {
      await store.close();
    }
  });

  test('a batch never waits for a parent locked by a revocation: the other tokens record, the children wait alone', async () => {
    const schema = freshSchema();
    const store = await openStore({ kind: 'postgres', url: URL, schema, clock: () => 1000 });
    const locker = await admin.connect();
    try {
      const t = (hash: string, parentHash: string | null) =>
        issuedToken(hash, { parentHash, rootHash: parentHash });
      await store.tokens.record(t('busy', null));
      await store.tokens.record(t('calm', null));
      // A revocation in progress: the parent row is locked until its transaction ends.
      await locker.query('BEGIN');
      await locker.query(
        `UPDATE "${schema}".tokens SET revoked_at = 1500, revoke_reason = 'gone' WHERE hash = 'busy'`,
      );
      const children = [t('busy-1', 'busy'), t('busy-2', 'busy')].map((c) => store.tokens.record(c));
      const others = [t('calm-1', 'calm'), t('calm-2', 'calm')].map((c) => store.tokens.record(c));
      // One turn, one batch: it must not wait for the lock, so the calm tokens record while it is held.
      const held = await Promise.race([
        Promise.all(others).then(() => 'recorded'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000).unref()),
      ]);
      assert.equal(held, 'recorded');
      await locker.query('COMMIT');
      // The children waited for their parent's revocation alone, and inherit it.
      for (const child of await Promise.all(children)) {
        assert.equal(child.revokedAt, 1500);
        assert.equal(child.revokeReason, 'gone');
      }
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      locker.release();
      await store.close();
    }
  });

  test('close is idempotent', async () => {
    const schema = freshSchema();
    const store = await openStore({ kind: 'postgres', url: URL, schema });
    await store.close();
    await store.close();
  });
});
