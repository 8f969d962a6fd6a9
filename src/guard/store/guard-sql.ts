/**
 * The guard's durable state (DESIGN §6: trust levels and their history, pinned tool definitions, spent
 * budgets, operator changes) lives in one small SQL database: `<dataDir>/guard.db` (SQLite, WAL) or the
 * `warrant_guard` schema of the PostgreSQL store. Every sub-store of the guard (src/guard/<part>/) writes its
 * SQL once against this seam: `$1 … $n` placeholders (translated to SQLite's `?1 … ?n`), `ON CONFLICT`
 * upserts and `RETURNING`, which both databases understand.
 *
 * SQLite runs on this thread (node:sqlite is synchronous), so its transactions are serialised here: while a
 * transaction is open, every other statement waits for it — no statement of another request can land inside
 * it across an `await`.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type pg from 'pg';
import type { Row } from '../../sql/row.ts';
import type { WalSync } from '../../sql/wal-sync.ts';

export type SqlValue = string | number | bigint | null | Uint8Array;

export interface GuardSql {
  readonly kind: 'sqlite' | 'postgres';
  /** Every row of `sql`. */
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The first row of `sql`, if any. */
  one(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  /** Runs `sql`; resolves the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `work` in one transaction (committed when it resolves, rolled back when it rejects). Statements of
   * the transaction go through the `tx` it is given, never through this object.
   */
  transaction<T>(work: (tx: GuardSql) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query and can still make writes durable (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `$1 … $n` → `?1 … ?n` (SQLite's numbered parameters). */
function sqliteText(sql: string): string {
  return sql.replace(/\$(\d+)/g, '?$1');
}

export class SqliteGuardSql implements GuardSql {
  readonly kind = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  /** The open transaction's end, when one is open: statements outside it wait for it. */
  #busy: Promise<void> | undefined;
  /**
   * When set, the connection commits with `synchronous=NORMAL` and a write resolves only once this has
   * fdatasynced the WAL on libuv's pool: FULL's power-loss guarantee without an fsync on the event loop
   * (src/sql/wal-sync.ts). A budget reservation is on the gateway's request path.
   */
  readonly #walSync: WalSync | undefined;

  constructor(db: DatabaseSync, walSync?: WalSync) {
    this.#db = db;
    this.#walSync = walSync;
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sqliteText(sql));
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all(sql: string, params: readonly SqlValue[]): Row[] {
    return this.#statement(sql).all(...(params as SqlValue[])) as Row[];
  }

  #run(sql: string, params: readonly SqlValue[]): number {
    return Number(this.#statement(sql).run(...(params as SqlValue[])).changes);
  }

  // Each method checks `#busy` and, when no transaction is open, runs its statement in the same tick: an
  // `await` between the check and the statement would let a transaction begin in between.
  async all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    while (this.#busy !== undefined) await this.#busy;
    // A statement that writes and returns rows (`INSERT … RETURNING`: a budget's usage added, a guard
    // change recorded) is durable before it resolves, as one through `run` is. A SELECT cannot write: it
    // runs alone (the pins and trust reads are on the gateway's request path).
    if (this.#walSync === undefined || /^\s*SELECT\b/i.test(sql)) return this.#all(sql, params);
    const before = this.#totalChanges();
    const rows = this.#all(sql, params);
    if (this.#totalChanges() !== before) await this.#walSync.sync();
    return rows;
  }

  /** Rows this connection has inserted, updated or deleted since it opened (SQLite's `total_changes()`). */
  #totalChanges(): number {
    return Number(this.#statement('SELECT total_changes() AS n').get()!['n']);
  }

  async one(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return (await this.all(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.#busy !== undefined) await this.#busy;
    const changed = this.#run(sql, params);
    if (changed > 0) await this.#walSync?.sync();
    return changed;
  }

  async transaction<T>(work: (tx: GuardSql) => Promise<T>): Promise<T> {
    while (this.#busy !== undefined) await this.#busy;
    let end!: () => void;
    this.#busy = new Promise<void>((resolve) => {
      end = resolve;
    });
    const tx: GuardSql = {
      kind: 'sqlite',
      all: async (sql, params = []) => this.#all(sql, params),
      one: async (sql, params = []) => this.#all(sql, params)[0],
      run: async (sql, params = []) => this.#run(sql, params),
      transaction: () => Promise.reject(new TypeError('nested guard transactions are not supported')),
      ping: async () => {},
      close: () => Promise.reject(new TypeError('close the store, not a transaction')),
    };
    let result: T;
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        result = await work(tx);
        this.#db.exec('COMMIT');
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.#busy = undefined;
      end();
    }
    // Committed (the next statement may run); the caller hears of it once it is durable.
    await this.#walSync?.sync();
    return result;
  }

  async ping(): Promise<void> {
    // A WAL that could not be synced refuses every write from then on: the store answers reads, but is
    // not usable (a budget reservation would be refused).
    if (this.#walSync?.failed) throw new Error('the guard store could not make its log durable');
    await this.all('SELECT 1');
  }

  async close(): Promise<void> {
    while (this.#busy !== undefined) await this.#busy;
    await this.#walSync?.close();
    if (this.#db.isOpen) this.#db.close();
  }
}

export class PostgresGuardSql implements GuardSql {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #client: pg.PoolClient | undefined;

  constructor(pool: pg.Pool, client?: pg.PoolClient) {
    this.#pool = pool;
    this.#client = client;
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return (await (this.#client ?? this.#pool).query<Row>(sql, params as SqlValue[])).rows;
  }

  async one(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return (await this.all(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await (this.#client ?? this.#pool).query(sql, params as SqlValue[])).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: GuardSql) => Promise<T>): Promise<T> {
    if (this.#client) throw new TypeError('nested guard transactions are not supported');
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await work(new PostgresGuardSql(this.#pool, client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.all('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#client) throw new TypeError('close the store, not a transaction');
    await this.#pool.end();
  }
}
