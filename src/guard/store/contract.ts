/**
 * Runs one set of guard-store cases on both databases: SQLite in memory, and PostgreSQL in a fresh schema
 * (dropped afterwards). Every sub-store of the guard uses it for its contract suite, so SQLite and
 * PostgreSQL are held to the same behaviour.
 */
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { POSTGRES_URL, requirePostgres } from '../../../test/support/services.ts';
import { type GuardStore, openGuardStore } from './open-guard-store.ts';

export type GuardStoreCase = (store: GuardStore) => Promise<void>;

export function guardStoreContract(name: string, cases: Readonly<Record<string, GuardStoreCase>>): void {
  describe(`${name} on SQLite`, () => {
    for (const [title, run] of Object.entries(cases)) {
      it(title, async () => {
        const store = await openGuardStore(
          { store: { kind: 'sqlite' }, dataDir: '/nonexistent' },
          { path: ':memory:' },
        );
        try {
          await run(store);
        } finally {
          await store.close();
        }
      });
    }
  });
  describe(`${name} on PostgreSQL`, () => {
    for (const [title, run] of Object.entries(cases)) {
      it(title, async () => {
        const url = await requirePostgres(POSTGRES_URL);
        const schema = `guard_test_${randomBytes(6).toString('hex')}`;
        const store = await openGuardStore(
          { store: { kind: 'postgres', url }, dataDir: '/nonexistent' },
          { schema },
        );
        try {
          await run(store);
        } finally {
          await store.close();
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        }
      });
    }
  });
}
