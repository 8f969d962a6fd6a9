/**
 * Throwaway PostgreSQL schemas for tests and benchmarks: each one a fresh random name, so parallel runs
 * never collide, all dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { POSTGRES_URL } from './services.ts';

export interface PostgresSchemas {
  /** A pool on the database (not inside any schema) for checks and set-up; ended by `dropAll`. */
  readonly admin: pg.Pool;
  /** A new schema name `<prefix>_<12 hex>`, remembered for `dropAll`; nothing is created. */
  fresh(): string;
  /** Drops one schema (and everything in it). */
  drop(schema: string): Promise<void>;
  /** Drops every schema `fresh` named that is still there, then ends `admin`. */
  dropAll(): Promise<void>;
}

export function postgresSchemas(prefix: string, url: string = POSTGRES_URL): PostgresSchemas {
  const admin = new pg.Pool({ connectionString: url, max: 3 });
  admin.on('error', () => {});
  const created = new Set<string>();
  const drop = async (schema: string) => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    created.delete(schema);
  };
  return {
    admin,
    fresh() {
      const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
      created.add(schema);
      return schema;
    },
    drop,
    async dropAll() {
      try {
        for (const schema of [...created]) await drop(schema);
      } finally {
        await admin.end();
      }
    },
  };
}
