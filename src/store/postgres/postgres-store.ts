import pg from 'pg';
import { applyBits, sizedBits } from '../../core/tokens/status-list.ts';
import { StoreConflictError, StoreNotFoundError } from '../errors.ts';
import type {
  AgentListQuery,
  AgentPatch,
  AgentRecord,
  AgentStatus,
  AgentStore,
  Clock,
  IssuedToken,
  IssuerRecord,
  IssuerStore,
  JsonObject,
  KeyStore,
  NewAgent,
  Page,
  PreviousAgentKey,
  ReplayStore,
  RevokedToken,
  RevokeSelector,
  SigningKeyState,
  StatusListSnapshot,
  StatusListStore,
  Store,
  StoredSigningKey,
  TokenStore,
} from '../ports.ts';
import {
  AGENT_COLUMNS,
  agentFromRow,
  agentValues,
  ISSUER_COLUMNS,
  issuerFromRow,
  issuerValues,
  type Row,
  SIGNING_KEY_COLUMNS,
  signingKeyFromRow,
  signingKeyValues,
  TOKEN_COLUMNS,
  tokenFromRow,
  tokenValues,
} from '../rows.ts';
import {
  agentStatus,
  allocateCount,
  anyText,
  checkIndices,
  checkIssuer,
  checkListQuery,
  checkNewAgent,
  checkSelector,
  checkSigningKey,
  checkToken,
  integer,
  jsonObject,
  MAX_STATUS_INDEX,
  nullableInteger,
  patchValues,
  replayExpiry,
  type SelectorKind,
  signingKeyState,
  text,
} from '../validate.ts';
import { migratePostgres } from './migrate.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** The schema holding the tables (default `warrant_sts`), created when missing. `[a-z_][a-z0-9_]*`. */
  schema?: string;
  /** Pool size (default 10). */
  poolSize?: number;
  /** Epoch seconds (default: the system clock). */
  clock?: Clock;
}

type Db = pg.Pool | pg.PoolClient;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;
const UNIQUE_VIOLATION = '23505';
const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock detected
const REVOKE_ATTEMPTS = 5;
const REPLAY_PURGE_EVERY = 1000;

const systemClock: Clock = () => Date.now() / 1000;

function pgCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

function pgConstraint(error: unknown): string | undefined {
  return (error as { constraint?: string } | null)?.constraint;
}

/** A named (so prepared once per connection, then reused) statement. */
function statement(name: string, sql: string): (values?: unknown[]) => pg.QueryConfig {
  const prepared = `warrant_store_${name}`;
  return (values = []) => ({ name: prepared, text: sql, values });
}

async function one(db: Db, query: pg.QueryConfig): Promise<Row | undefined> {
  return (await db.query<Row>(query)).rows[0];
}

async function all(db: Db, query: pg.QueryConfig): Promise<Row[]> {
  return (await db.query<Row>(query)).rows;
}

/**
 * Opens a PostgreSQL store on a `pg` pool whose connections all use `search_path = <schema>`; creates the
 * schema and applies migrations first. Statements are named, so each connection prepares each once.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const url = text(options.url, 'url');
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new TypeError('url must start with postgres:// or postgresql://');
  const schema = options.schema ?? 'warrant_sts';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new TypeError('schema must match [a-z_][a-z0-9_]* (at most 63 characters)');
  }
  const poolSize = integer(options.poolSize ?? 10, 'poolSize', 1);
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function');

  const types = new pg.TypeOverrides();
  // Every BIGINT here is an epoch time or a counter well inside Number.MAX_SAFE_INTEGER.
  types.setTypeParser(INT8_OID, 'text', (value: string) => Number(value));
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    options: `-c search_path=${schema}`,
    types,
  });
  // Status-index allocation commits asynchronously (no WAL flush wait, so the hot counter row is locked
  // for microseconds, not a disk flush). Safe: an index matters only once a token carrying it is
  // recorded, and that later synchronous commit flushes the WAL past the allocation too.
  const allocationPool = new pg.Pool({
    connectionString: url,
    max: 2,
    options: `-c search_path=${schema} -c synchronous_commit=off`,
    types,
  });
  // An idle connection that dies is dropped by the pool; the next query reports the outage.
  pool.on('error', () => {});
  allocationPool.on('error', () => {});
  try {
    const client = await pool.connect();
    try {
      await migratePostgres(client, schema, POSTGRES_MIGRATIONS, Math.floor(clock()));
    } finally {
      client.release();
    }
  } catch (error) {
    await Promise.all([pool.end(), allocationPool.end()]);
    throw error;
  }
  return new PostgresStore(pool, allocationPool, clock);
}

type Tx = <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly agents: AgentStore;
  readonly tokens: TokenStore;
  readonly statusLists: StatusListStore;
  readonly keys: KeyStore;
  readonly replay: ReplayStore;
  readonly issuers: IssuerStore;
  readonly #pools: readonly pg.Pool[];
  #closed = false;

  constructor(pool: pg.Pool, allocationPool: pg.Pool, clock: Clock) {
    this.#pools = [pool, allocationPool];
    const now = () => Math.floor(clock());
    const tx: Tx = async (fn) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    };
    const bits = new PostgresStatusBits();
    this.agents = new PostgresAgents(pool, tx, now);
    this.tokens = new PostgresTokens(pool, tx, bits);
    this.statusLists = new PostgresStatusLists(pool, allocationPool, tx, bits);
    this.keys = new PostgresKeys(pool);
    this.replay = new PostgresReplay(pool, now);
    this.issuers = new PostgresIssuers(pool);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#pools.map((p) => p.end()));
  }
}

const AGENT_INSERT = statement(
  'agent_insert',
  `WITH a AS (
     INSERT INTO agents (${AGENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     RETURNING ${AGENT_COLUMNS}
   ), k AS (
     INSERT INTO agent_keys (jkt, agent_id, until) SELECT jkt, id, NULL FROM a
   )
   SELECT ${AGENT_COLUMNS} FROM a`,
);
const AGENT_GET = statement('agent_get', `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`);
const AGENT_GET_FOR_UPDATE = statement(
  'agent_get_for_update',
  `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1 FOR UPDATE`,
);
const AGENT_BY_JKT = statement(
  'agent_by_jkt',
  `SELECT ${AGENT_COLUMNS.replace(/(\w+)/g, 'a.$1')} FROM agent_keys k JOIN agents a ON a.id = k.agent_id
   WHERE k.jkt = $1 AND (k.until IS NULL OR k.until > $2)`,
);
const AGENT_LIST = statement(
  'agent_list',
  `SELECT ${AGENT_COLUMNS} FROM agents WHERE id > $1 ORDER BY id LIMIT $2`,
);
const AGENT_LIST_BY_STATUS = statement(
  'agent_list_by_status',
  `SELECT ${AGENT_COLUMNS} FROM agents WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3`,
);
const AGENT_SET_STATUS = statement(
  'agent_set_status',
  `UPDATE agents SET status = $1, updated_at = $2 WHERE id = $3 RETURNING ${AGENT_COLUMNS}`,
);
const AGENT_UPDATE = statement(
  'agent_update',
  `UPDATE agents SET name = COALESCE($1, name), owner = COALESCE($2, owner), tier = COALESCE($3, tier),
     trust_level = COALESCE($4, trust_level), allowed_audiences = COALESCE($5, allowed_audiences),
     max_depth = COALESCE($6, max_depth), client_ids = COALESCE($7, client_ids), updated_at = $8
   WHERE id = $9 RETURNING ${AGENT_COLUMNS}`,
);
const AGENT_CLIENT_ID_INSERT = statement(
  'agent_client_id_insert',
  'INSERT INTO agent_client_ids (issuer, client_id, agent_id) VALUES ($1, $2, $3)',
);
const AGENT_CLIENT_IDS_DELETE = statement(
  'agent_client_ids_delete',
  'DELETE FROM agent_client_ids WHERE agent_id = $1',
);
const AGENT_BY_CLIENT_ID = statement(
  'agent_by_client_id',
  `SELECT ${AGENT_COLUMNS.replace(/(\w+)/g, 'a.$1')} FROM agent_client_ids c JOIN agents a ON a.id = c.agent_id
   WHERE c.issuer = $1 AND c.client_id = $2`,
);

/** Conflicts on create and update, named after the constraint that caught them. */
function agentConflict(error: unknown): StoreConflictError | undefined {
  if (pgCode(error) !== UNIQUE_VIOLATION) return undefined;
  const constraint = pgConstraint(error);
  const what =
    constraint === 'agents_pkey'
      ? 'agent id already exists'
      : constraint === 'agent_client_ids_pkey'
        ? 'client id already registered at that issuer'
        : 'key thumbprint already registered';
  return new StoreConflictError(what, { cause: error });
}

/** Writes the agent's (issuer, client id) pairs inside the caller's transaction. */
async function indexClientIds(
  client: pg.PoolClient,
  id: string,
  clientIds: Record<string, string>,
): Promise<void> {
  await client.query(AGENT_CLIENT_IDS_DELETE([id]));
  for (const [issuer, clientId] of Object.entries(clientIds))
    await client.query(AGENT_CLIENT_ID_INSERT([issuer, clientId, id]));
}
const AGENT_KEY_INSERT = statement(
  'agent_key_insert',
  'INSERT INTO agent_keys (jkt, agent_id, until) VALUES ($1, $2, NULL)',
);
const AGENT_KEY_END = statement('agent_key_end', 'UPDATE agent_keys SET until = $1 WHERE jkt = $2');
const AGENT_KEY_PRUNE = statement(
  'agent_key_prune',
  'DELETE FROM agent_keys WHERE agent_id = $1 AND until IS NOT NULL AND until <= $2',
);
const AGENT_SET_KEY = statement(
  'agent_set_key',
  `UPDATE agents SET public_jwk = $1, jkt = $2, previous_keys = $3, updated_at = $4 WHERE id = $5
   RETURNING ${AGENT_COLUMNS}`,
);

class PostgresAgents implements AgentStore {
  readonly #pool: pg.Pool;
  readonly #tx: Tx;
  readonly #now: () => number;

  constructor(pool: pg.Pool, tx: Tx, now: () => number) {
    this.#pool = pool;
    this.#tx = tx;
    this.#now = now;
  }

  async create(agent: NewAgent): Promise<AgentRecord> {
    checkNewAgent(agent);
    const values = agentValues(agent, this.#now());
    const clientIds = agent.clientIds ?? {};
    try {
      if (Object.keys(clientIds).length === 0)
        return agentFromRow((await one(this.#pool, AGENT_INSERT(values)))!);
      return await this.#tx(async (client) => {
        const row = await one(client, AGENT_INSERT(values));
        await indexClientIds(client, agent.id, clientIds);
        return agentFromRow(row!);
      });
    } catch (error) {
      throw agentConflict(error) ?? error;
    }
  }

  async getByClientId(issuer: string, clientId: string): Promise<AgentRecord | null> {
    const row = await one(
      this.#pool,
      AGENT_BY_CLIENT_ID([text(issuer, 'issuer', 2048), text(clientId, 'client id', 512)]),
    );
    return row === undefined ? null : agentFromRow(row);
  }

  async get(id: string): Promise<AgentRecord | null> {
    const row = await one(this.#pool, AGENT_GET([text(id, 'agent id')]));
    return row === undefined ? null : agentFromRow(row);
  }

  async getByKeyThumbprint(jkt: string): Promise<AgentRecord | null> {
    const row = await one(this.#pool, AGENT_BY_JKT([text(jkt, 'jkt'), this.#now()]));
    return row === undefined ? null : agentFromRow(row);
  }

  async list(query: AgentListQuery): Promise<Page<AgentRecord>> {
    checkListQuery(query);
    const after = query.after ?? '';
    const rows = await all(
      this.#pool,
      query.status === undefined
        ? AGENT_LIST([after, query.limit + 1])
        : AGENT_LIST_BY_STATUS([query.status, after, query.limit + 1]),
    );
    const items = rows.slice(0, query.limit).map(agentFromRow);
    return { items, next: rows.length > query.limit ? items.at(-1)!.id : null };
  }

  async setStatus(id: string, status: AgentStatus): Promise<AgentRecord> {
    text(id, 'agent id');
    agentStatus(status);
    return returning(await one(this.#pool, AGENT_SET_STATUS([status, this.#now(), id])), id);
  }

  async update(id: string, patch: AgentPatch): Promise<AgentRecord> {
    text(id, 'agent id');
    const values = patchValues(patch);
    if (patch.clientIds === undefined)
      return returning(await one(this.#pool, AGENT_UPDATE([...values, this.#now(), id])), id);
    const clientIds = patch.clientIds;
    try {
      return await this.#tx(async (client) => {
        const updated = returning(await one(client, AGENT_UPDATE([...values, this.#now(), id])), id);
        await indexClientIds(client, id, clientIds);
        return updated;
      });
    } catch (error) {
      throw agentConflict(error) ?? error;
    }
  }

  async rotateKey(
    id: string,
    newJwk: JsonObject,
    newJkt: string,
    overlapUntil: number,
  ): Promise<AgentRecord> {
    text(id, 'agent id');
    jsonObject(newJwk, 'newJwk');
    text(newJkt, 'newJkt');
    integer(overlapUntil, 'overlapUntil');
    const now = this.#now();
    return this.#tx(async (client) => {
      const row = await one(client, AGENT_GET_FOR_UPDATE([id]));
      if (row === undefined) throw new StoreNotFoundError(`no agent ${id}`);
      const current = agentFromRow(row);
      try {
        await client.query(AGENT_KEY_INSERT([newJkt, id]));
      } catch (error) {
        if (pgCode(error) === UNIQUE_VIOLATION) {
          throw new StoreConflictError('key thumbprint already registered', { cause: error });
        }
        throw error;
      }
      await client.query(AGENT_KEY_END([overlapUntil, current.jkt]));
      await client.query(AGENT_KEY_PRUNE([id, now]));
      const previous: PreviousAgentKey[] = current.previousKeys.filter((k) => k.until > now);
      if (overlapUntil > now)
        previous.push({ jwk: current.publicJwk, jkt: current.jkt, until: overlapUntil });
      const updated = await one(
        client,
        AGENT_SET_KEY([JSON.stringify(newJwk), newJkt, JSON.stringify(previous), now, id]),
      );
      return agentFromRow(updated!);
    });
  }
}

function returning(row: Row | undefined, id: string): AgentRecord {
  if (row === undefined) throw new StoreNotFoundError(`no agent ${id}`);
  return agentFromRow(row);
}

const BITS_SELECT = statement(
  'bits_select',
  'SELECT next_idx, version, bits FROM status_lists WHERE list_id = $1 FOR UPDATE',
);
const BITS_CREATE = statement(
  'bits_create',
  `INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES ($1, 0, 0, '\\x'::bytea)
   ON CONFLICT (list_id) DO NOTHING`,
);
const BITS_UPDATE = statement(
  'bits_update',
  'UPDATE status_lists SET next_idx = $1, version = $2, bits = $3 WHERE list_id = $4',
);

/** Status-bit writes inside the caller's transaction: the list row is locked, changed, written back. */
class PostgresStatusBits {
  async set(client: pg.PoolClient, listId: string, indices: readonly number[], value: 0 | 1): Promise<void> {
    if (indices.length === 0) return;
    let row = await one(client, BITS_SELECT([listId]));
    if (row === undefined) {
      await client.query(BITS_CREATE([listId]));
      row = (await one(client, BITS_SELECT([listId])))!;
    }
    const size = Number(row['next_idx']);
    const version = Number(row['version']);
    const after = applyBits(row['bits'] as Uint8Array, size, indices, value);
    if (after.changed || after.size !== size) {
      await client.query(
        BITS_UPDATE([after.size, after.changed ? version + 1 : version, after.bits, listId]),
      );
    }
  }

  /** Sets the bit of every revoked token that has a status slot; lists are locked in id order. */
  async setRevoked(client: pg.PoolClient, tokens: readonly RevokedToken[]): Promise<void> {
    const byList = new Map<string, number[]>();
    for (const t of tokens) {
      if (t.statusList === null || t.statusIdx === null) continue;
      const list = byList.get(t.statusList);
      if (list) list.push(t.statusIdx);
      else byList.set(t.statusList, [t.statusIdx]);
    }
    for (const listId of [...byList.keys()].sort()) await this.set(client, listId, byList.get(listId)!, 1);
  }
}

/**
 * Records a token in one autocommit statement. A child share-locks its parent row, so a concurrent
 * revocation either has committed (and the child inherits it here) or waits for this insert (and its
 * next round finds the child). A token stored revoked gets its status bit set by the same statement
 * (`set_bit` numbers bits LSB first within each byte, as the status list does).
 */
const TOKEN_RECORD = statement(
  'token_record',
  `WITH p AS (
     SELECT revoked_at, revoke_reason FROM tokens WHERE hash = $4 FOR SHARE
   ), t AS (
     INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
       COALESCE($16::bigint, (SELECT revoked_at FROM p)),
       CASE WHEN $16::bigint IS NULL THEN (SELECT revoke_reason FROM p) ELSE $17::text END)
     RETURNING hash, revoked_at, revoke_reason, status_list, status_idx
   ), a AS (
     INSERT INTO token_actors (agent_id, hash) SELECT x, t.hash FROM t, unnest($18::text[]) AS x
     ON CONFLICT DO NOTHING
   ), s AS (
     INSERT INTO status_lists AS l (list_id, next_idx, version, bits)
     SELECT status_list, status_idx + 1, 1, set_bit(decode(repeat('00', status_idx / 8 + 1), 'hex'), status_idx, 1)
     FROM t WHERE revoked_at IS NOT NULL AND status_list IS NOT NULL
     ON CONFLICT (list_id) DO UPDATE SET
       bits = set_bit(
         CASE WHEN length(l.bits) > (EXCLUDED.next_idx - 1) / 8 THEN l.bits
           ELSE l.bits || decode(repeat('00', ((EXCLUDED.next_idx - 1) / 8 + 1 - length(l.bits))::int), 'hex') END,
         EXCLUDED.next_idx - 1, 1),
       next_idx = GREATEST(l.next_idx, EXCLUDED.next_idx),
       version = l.version + 1
   )
   SELECT revoked_at, revoke_reason FROM t`,
);
const TOKEN_GET = statement('token_get', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = $1`);
const TOKEN_GET_BY_JTI = statement('token_get_by_jti', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE jti = $1`);
const TOKEN_CHILDREN = statement(
  'token_children',
  `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE parent_hash = $1 ORDER BY iat, hash`,
);
const TOKEN_DESCENDANTS = statement(
  'token_descendants',
  `WITH RECURSIVE d(hash) AS (
     SELECT hash FROM tokens WHERE parent_hash = $1
     UNION
     SELECT t.hash FROM tokens t JOIN d ON t.parent_hash = d.hash
   )
   SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash IN (SELECT hash FROM d) ORDER BY iat, hash`,
);
const TOKEN_IS_REVOKED = statement('token_is_revoked', 'SELECT revoked_at FROM tokens WHERE hash = $1');
const TOKEN_BY_TXN = statement(
  'token_by_txn',
  `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE txn = $1 ORDER BY iat, hash`,
);

const TOKEN_LIVE = statement(
  'token_live',
  `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE exp > $1 AND revoked_at IS NULL ORDER BY iat, hash`,
);

const revokeSql = (match: string): string => `
WITH RECURSIVE m(hash) AS (
  ${match}
  UNION
  SELECT t.hash FROM tokens t JOIN m ON t.parent_hash = m.hash
)
UPDATE tokens SET revoked_at = $2, revoke_reason = $3
WHERE revoked_at IS NULL AND hash IN (SELECT hash FROM m)
RETURNING hash, status_list, status_idx`;

const REVOKE: Readonly<Record<SelectorKind, ReturnType<typeof statement>>> = {
  hash: statement('revoke_hash', revokeSql('SELECT hash FROM tokens WHERE hash = $1')),
  txn: statement('revoke_txn', revokeSql('SELECT hash FROM tokens WHERE txn = $1')),
  agentId: statement('revoke_agent', revokeSql('SELECT hash FROM token_actors WHERE agent_id = $1')),
  sub: statement('revoke_sub', revokeSql('SELECT hash FROM tokens WHERE sub = $1')),
};
/** The descendants of the tokens revoked by the previous round (children recorded while it ran). */
const REVOKE_BELOW = statement(
  'revoke_below',
  revokeSql('SELECT hash FROM tokens WHERE parent_hash = ANY($1::text[])'),
);

function toRevoked(row: Row): RevokedToken {
  return {
    hash: row['hash'] as string,
    statusList: row['status_list'] as string | null,
    statusIdx: row['status_idx'] === null ? null : Number(row['status_idx']),
  };
}

class PostgresTokens implements TokenStore {
  readonly #pool: pg.Pool;
  readonly #tx: Tx;
  readonly #bits: PostgresStatusBits;

  constructor(pool: pg.Pool, tx: Tx, bits: PostgresStatusBits) {
    this.#pool = pool;
    this.#tx = tx;
    this.#bits = bits;
  }

  async record(token: IssuedToken): Promise<IssuedToken> {
    checkToken(token);
    const values = [...tokenValues(token), [...new Set(token.actors)]];
    const stored = (row: Row): IssuedToken => ({
      ...token,
      actors: [...token.actors],
      revokedAt: row['revoked_at'] === null ? null : Number(row['revoked_at']),
      revokeReason: row['revoke_reason'] as string | null,
    });
    try {
      return stored((await one(this.#pool, TOKEN_RECORD(values)))!);
    } catch (error) {
      if (pgCode(error) === UNIQUE_VIOLATION) {
        throw new StoreConflictError(`token ${token.hash} (or its jti) already recorded`, { cause: error });
      }
      throw error;
    }
  }

  async get(hash: string): Promise<IssuedToken | null> {
    const row = await one(this.#pool, TOKEN_GET([text(hash, 'hash')]));
    return row === undefined ? null : tokenFromRow(row);
  }

  async getByJti(jti: string): Promise<IssuedToken | null> {
    const row = await one(this.#pool, TOKEN_GET_BY_JTI([text(jti, 'jti')]));
    return row === undefined ? null : tokenFromRow(row);
  }

  async children(hash: string): Promise<IssuedToken[]> {
    return (await all(this.#pool, TOKEN_CHILDREN([text(hash, 'hash')]))).map(tokenFromRow);
  }

  async descendants(hash: string): Promise<IssuedToken[]> {
    return (await all(this.#pool, TOKEN_DESCENDANTS([text(hash, 'hash')]))).map(tokenFromRow);
  }

  /**
   * Round one revokes the matched tokens and every descendant it can see. A child whose insert held its
   * parent's share lock committed before round one could update that parent, but after round one's
   * snapshot; the next rounds revoke below what the previous round revoked until nothing is left.
   * Deadlocks with a concurrent revocation of an overlapping set are retried.
   */
  async revoke(selector: RevokeSelector, reason: string, at: number): Promise<RevokedToken[]> {
    const { kind, value } = checkSelector(selector);
    anyText(reason, 'reason');
    integer(at, 'at');
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#tx(async (client) => {
          let round = (await all(client, REVOKE[kind]([value, at, reason]))).map(toRevoked);
          const revoked = [...round];
          while (round.length > 0) {
            round = (await all(client, REVOKE_BELOW([round.map((t) => t.hash), at, reason]))).map(toRevoked);
            revoked.push(...round);
          }
          await this.#bits.setRevoked(client, revoked);
          return revoked;
        });
      } catch (error) {
        if (attempt >= REVOKE_ATTEMPTS || !RETRYABLE.has(pgCode(error) ?? '')) throw error;
      }
    }
  }

  async isRevoked(hash: string): Promise<boolean | null> {
    const row = await one(this.#pool, TOKEN_IS_REVOKED([text(hash, 'hash')]));
    return row === undefined ? null : row['revoked_at'] !== null;
  }

  async listByTxn(txn: string): Promise<IssuedToken[]> {
    return (await all(this.#pool, TOKEN_BY_TXN([text(txn, 'txn')]))).map(tokenFromRow);
  }

  async listLive(now: number): Promise<IssuedToken[]> {
    return (await all(this.#pool, TOKEN_LIVE([integer(now, 'now')]))).map(tokenFromRow);
  }
}

const LIST_ALLOCATE = statement(
  'list_allocate',
  `INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES ($1, $2::bigint, 0, '\\x'::bytea)
   ON CONFLICT (list_id) DO UPDATE SET next_idx = status_lists.next_idx + $2::bigint
   RETURNING next_idx - $2::bigint AS idx`,
);
const LIST_GET = statement('list_get', 'SELECT next_idx, version, bits FROM status_lists WHERE list_id = $1');

class PostgresStatusLists implements StatusListStore {
  readonly #pool: pg.Pool;
  readonly #allocationPool: pg.Pool;
  readonly #tx: Tx;
  readonly #bits: PostgresStatusBits;

  constructor(pool: pg.Pool, allocationPool: pg.Pool, tx: Tx, bits: PostgresStatusBits) {
    this.#pool = pool;
    this.#allocationPool = allocationPool;
    this.#tx = tx;
    this.#bits = bits;
  }

  /** One `INSERT … ON CONFLICT DO UPDATE … RETURNING`: the row lock makes concurrent calls take turns. */
  async allocate(listId: string, count = 1): Promise<number> {
    text(listId, 'listId');
    allocateCount(count);
    const first = Number((await one(this.#allocationPool, LIST_ALLOCATE([listId, count])))!['idx']);
    // Past the last index the list stays over-allocated: the caller must move to a new list.
    if (first + count - 1 > MAX_STATUS_INDEX) throw new RangeError(`status list ${listId} is full`);
    return first;
  }

  async set(listId: string, indices: readonly number[], value: 0 | 1 = 1): Promise<void> {
    text(listId, 'listId');
    checkIndices(indices, value);
    await this.#tx((client) => this.#bits.set(client, listId, indices, value));
  }

  async get(listId: string): Promise<StatusListSnapshot | null> {
    const row = await one(this.#pool, LIST_GET([text(listId, 'listId')]));
    if (row === undefined) return null;
    const size = Number(row['next_idx']);
    return { bits: sizedBits(row['bits'] as Uint8Array, size), size, version: Number(row['version']) };
  }
}

const KEY_INSERT = statement(
  'key_insert',
  `INSERT INTO signing_keys (${SIGNING_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
);
const KEY_LIST = statement(
  'key_list',
  `SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid`,
);
const KEY_SET_STATE = statement(
  'key_set_state',
  'UPDATE signing_keys SET state = $1, retire_at = $2 WHERE kid = $3',
);

class PostgresKeys implements KeyStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async save(key: StoredSigningKey): Promise<void> {
    checkSigningKey(key);
    try {
      await this.#pool.query(KEY_INSERT(signingKeyValues(key)));
    } catch (error) {
      if (pgCode(error) === UNIQUE_VIOLATION) {
        throw new StoreConflictError(`signing key ${key.kid} already exists`, { cause: error });
      }
      throw error;
    }
  }

  async list(): Promise<StoredSigningKey[]> {
    return (await all(this.#pool, KEY_LIST())).map(signingKeyFromRow);
  }

  async setState(kid: string, state: SigningKeyState, retireAt: number | null): Promise<void> {
    text(kid, 'kid');
    signingKeyState(state);
    nullableInteger(retireAt, 'retireAt');
    const result = await this.#pool.query(KEY_SET_STATE([state, retireAt, kid]));
    if (result.rowCount === 0) throw new StoreNotFoundError(`no signing key ${kid}`);
  }
}

/** A live record makes the upsert a no-op (no row returned); an expired one is replaced. */
const REPLAY_CONSUME = statement(
  'replay_consume',
  `INSERT INTO replay (namespace, id, expires_at) VALUES ($1, $2, $3)
   ON CONFLICT (namespace, id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE replay.expires_at <= $4`,
);
const REPLAY_PURGE = statement('replay_purge', 'DELETE FROM replay WHERE expires_at <= $1');

class PostgresReplay implements ReplayStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  #sincePurge = 0;

  constructor(pool: pg.Pool, now: () => number) {
    this.#pool = pool;
    this.#now = now;
  }

  async consume(namespace: string, id: string, expiresAt: number): Promise<boolean> {
    const expiry = replayExpiry(namespace, id, expiresAt);
    const now = this.#now();
    if (++this.#sincePurge >= REPLAY_PURGE_EVERY) {
      this.#sincePurge = 0;
      await this.#pool.query(REPLAY_PURGE([now]));
    }
    const result = await this.#pool.query(REPLAY_CONSUME([namespace, id, expiry, now]));
    return result.rowCount === 1;
  }
}

const ISSUER_PUT = statement(
  'issuer_put',
  `INSERT INTO issuers (${ISSUER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
   ON CONFLICT (issuer) DO UPDATE SET kind = EXCLUDED.kind, audience = EXCLUDED.audience,
     jwks_uri = EXCLUDED.jwks_uri, jwks = EXCLUDED.jwks, mapping = EXCLUDED.mapping,
     assertions = EXCLUDED.assertions, max_assertion_age_seconds = EXCLUDED.max_assertion_age_seconds`,
);
const ISSUER_GET = statement('issuer_get', `SELECT ${ISSUER_COLUMNS} FROM issuers WHERE issuer = $1`);
const ISSUER_LIST = statement('issuer_list', `SELECT ${ISSUER_COLUMNS} FROM issuers ORDER BY issuer`);
const ISSUER_DELETE = statement('issuer_delete', 'DELETE FROM issuers WHERE issuer = $1');

class PostgresIssuers implements IssuerStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async put(issuer: IssuerRecord): Promise<void> {
    checkIssuer(issuer);
    await this.#pool.query(ISSUER_PUT(issuerValues(issuer)));
  }

  async get(issuer: string): Promise<IssuerRecord | null> {
    const row = await one(this.#pool, ISSUER_GET([text(issuer, 'issuer')]));
    return row === undefined ? null : issuerFromRow(row);
  }

  async list(): Promise<IssuerRecord[]> {
    return (await all(this.#pool, ISSUER_LIST())).map(issuerFromRow);
  }

  async delete(issuer: string): Promise<boolean> {
    const result = await this.#pool.query(ISSUER_DELETE([text(issuer, 'issuer')]));
    return (result.rowCount ?? 0) > 0;
  }
}
