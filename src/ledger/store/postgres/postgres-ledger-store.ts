import type pg from 'pg';
import {
  all,
  checkPostgresUrl,
  checkSchemaName,
  createPostgresPool,
  migratePool,
  one,
  pgCode,
  statements,
  UNIQUE_VIOLATION,
} from '../../../sql/postgres.ts';
import type { Row } from '../../../sql/row.ts';
import { LedgerClosedError, LedgerConflictError } from '../../errors.ts';
import { POSTGRES_LEDGER_MIGRATIONS } from '../migrations.ts';
import type {
  LeafData,
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  LedgerStore,
  StoredCheckpoint,
} from '../ports.ts';
import { CHECKPOINTS, queryPage, querySql, RECORDS } from '../rows.ts';
import {
  bytes,
  checkBatch,
  checkCheckpoint,
  checkLimit,
  checkQuery,
  index,
  range,
  sameBytes,
} from '../validate.ts';

export interface PostgresLedgerStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** The schema holding the ledger tables (default `warrant_ledger`), created when missing. `[a-z_][a-z0-9_]*`. */
  schema?: string;
  /** Pool size (default 4: one writer at a time, the rest for reads). */
  poolSize?: number;
}

/** Named statements: prepared once per connection, then reused. */
const statement = statements('warrant_ledger');

const APPEND = statement(
  'append',
  `INSERT INTO ledger_records (${RECORDS.columns})
   SELECT * FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
   WHERE (SELECT coalesce(max(idx) + 1, 0) FROM ledger_records) = $1`,
);
const LEAF_HASHES = statement(
  'leaf_hashes',
  'SELECT leaf_hash FROM ledger_records WHERE idx >= $1 AND idx < $2 ORDER BY idx',
);
const ENTRIES = statement(
  'entries',
  `SELECT ${RECORDS.columns} FROM ledger_records WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
);
const LEAF_DATA = statement(
  'leaf_data',
  'SELECT idx, leaf_hash, canonical FROM ledger_records WHERE idx >= $1 AND idx < $2 ORDER BY idx',
);
const GET = statement('get', `SELECT ${RECORDS.columns} FROM ledger_records WHERE idx = $1`);
const PUT_CHECKPOINT = statement(
  'put_checkpoint',
  'INSERT INTO ledger_checkpoints (size, root, note, time) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING',
);
const LATEST = statement(
  'latest',
  'SELECT size, root, note, time FROM ledger_checkpoints ORDER BY size DESC LIMIT 1',
);
const AT = statement('at', 'SELECT size, root, note, time FROM ledger_checkpoints WHERE size = $1');
const LIST = statement(
  'list',
  'SELECT size, root, note, time FROM ledger_checkpoints WHERE size > $1 ORDER BY size LIMIT $2',
);
const COUNT = statement('count', 'SELECT coalesce(max(idx) + 1, 0) AS n FROM ledger_records');

/**
 * Opens the PostgreSQL ledger store on a `pg` pool whose connections use `search_path = <schema>` and
 * `synchronous_commit = on`; creates the schema and applies migrations first.
 *
 * Durability: `appendBatch` is one INSERT statement (its own transaction) and resolves once the server
 * acknowledged its COMMIT, which with `synchronous_commit = on` means the WAL record is flushed to the
 * server's disk (and, when `synchronous_standby_names` is set, to the synchronous standbys).
 */
export async function openPostgresLedgerStore(options: PostgresLedgerStoreOptions): Promise<LedgerStore> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const url = checkPostgresUrl(options.url);
  const schema = checkSchemaName(options.schema ?? 'warrant_ledger');
  const poolSize = options.poolSize ?? 4;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1)
    throw new TypeError('poolSize must be a positive integer');

  // Every BIGINT here is an index, a size or an epoch-ms time: read as numbers.
  const pool = createPostgresPool({ url, schema, max: poolSize, settings: { synchronous_commit: 'on' } });
  try {
    await migratePool(pool, schema, POSTGRES_LEDGER_MIGRATIONS, Math.floor(Date.now() / 1000));
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresLedgerStore(pool);
}

class PostgresLedgerStore implements LedgerStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  #closing: Promise<void> | null = null;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  #open(): void {
    if (this.#closing) throw new LedgerClosedError('the ledger store is closed');
  }

  async appendBatch(entries: readonly LedgerEntry[]): Promise<void> {
    this.#open();
    const first = checkBatch(entries);
    // One array per column (`RECORDS` order; the batch is not empty), unnested by the INSERT.
    const rows = entries.map(RECORDS.values);
    const columns = rows[0]!.map((_, c) => rows.map((row) => row[c]));
    let inserted: number;
    try {
      inserted = (await this.#pool.query(APPEND([first, ...columns]))).rowCount ?? 0;
    } catch (error) {
      if (pgCode(error) === UNIQUE_VIOLATION)
        throw new LedgerConflictError(`batch starting at ${first} overlaps stored records`, { cause: error });
      throw error;
    }
    if (inserted !== entries.length)
      throw new LedgerConflictError(`batch starts at ${first}, which does not continue the stored log`);
  }

  async leafHashes(from: number, to: number): Promise<Uint8Array[]> {
    this.#open();
    range(from, to);
    return (await all(this.#pool, LEAF_HASHES([from, to]))).map((r) => bytes(r['leaf_hash'] as Uint8Array));
  }

  async entries(from: number, to: number): Promise<LedgerEntry[]> {
    this.#open();
    range(from, to);
    return (await all(this.#pool, ENTRIES([from, to]))).map(RECORDS.fromRow);
  }

  async leafData(from: number, to: number): Promise<LeafData[]> {
    this.#open();
    range(from, to);
    return (await all(this.#pool, LEAF_DATA([from, to]))).map((r) => ({
      index: Number(r['idx']),
      leafHash: bytes(r['leaf_hash'] as Uint8Array),
      canonical: r['canonical'] as string,
    }));
  }

  async getRecord(i: number): Promise<LedgerEntry | null> {
    this.#open();
    index(i, 'index');
    const row = await one(this.#pool, GET([i]));
    return row ? RECORDS.fromRow(row) : null;
  }

  async putCheckpoint(cp: StoredCheckpoint): Promise<void> {
    this.#open();
    checkCheckpoint(cp);
    const { rowCount } = await this.#pool.query(PUT_CHECKPOINT([cp.size, cp.root, cp.note, cp.time]));
    if (rowCount === 1) return;
    const known = await one(this.#pool, AT([cp.size]));
    if (known && !sameBytes(bytes(known['root'] as Uint8Array), cp.root))
      throw new LedgerConflictError(`a checkpoint of size ${cp.size} with another root is stored`);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    this.#open();
    const row = await one(this.#pool, LATEST());
    return row ? CHECKPOINTS.fromRow(row) : null;
  }

  async checkpointAt(size: number): Promise<StoredCheckpoint | null> {
    this.#open();
    index(size, 'size');
    const row = await one(this.#pool, AT([size]));
    return row ? CHECKPOINTS.fromRow(row) : null;
  }

  async checkpoints(query: { after?: number; limit: number }): Promise<StoredCheckpoint[]> {
    this.#open();
    const limit = checkLimit(query?.limit);
    const after = query.after === undefined ? -1 : index(query.after, 'after');
    return (await all(this.#pool, LIST([after, limit]))).map(CHECKPOINTS.fromRow);
  }

  async query(q: LedgerQuery): Promise<LedgerPage> {
    this.#open();
    checkQuery(q);
    const { text, values } = querySql(q, (n) => `$${n}`);
    return queryPage((await this.#pool.query<Row>(text, values)).rows.map(RECORDS.fromRow), q.limit);
  }

  async count(): Promise<number> {
    this.#open();
    const row = await one(this.#pool, COUNT());
    return Number(row!['n']);
  }

  close(): Promise<void> {
    this.#closing ??= this.#pool.end();
    return this.#closing;
  }
}
