import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
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
import { GroupCommit } from './group-commit.ts';
import { migrateSqlite } from './migrate.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';

export interface SqliteStoreOptions {
  /** A file path (created 0600 in a 0700 directory when missing) or `':memory:'` for unit tests. */
  path: string;
  /** How long a writer waits for another process's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Epoch seconds (default: the system clock). */
  clock?: Clock;
}

const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const REPLAY_PURGE_EVERY = 1000;

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return code === SQLITE_CONSTRAINT_PRIMARYKEY || code === SQLITE_CONSTRAINT_UNIQUE;
}

const systemClock: Clock = () => Date.now() / 1000;

/** Selector → the first step of the revocation closure. */
const MATCH: Readonly<Record<SelectorKind, string>> = {
  hash: 'SELECT hash FROM tokens WHERE hash = ?1',
  txn: 'SELECT hash FROM tokens WHERE txn = ?1',
  agentId: 'SELECT hash FROM token_actors WHERE agent_id = ?1',
  sub: 'SELECT hash FROM tokens WHERE sub = ?1',
};

const revokeSql = (match: string): string => `
WITH RECURSIVE m(hash) AS (
  ${match}
  UNION
  SELECT t.hash FROM tokens t JOIN m ON t.parent_hash = m.hash
)
UPDATE tokens SET revoked_at = ?2, revoke_reason = ?3
WHERE revoked_at IS NULL AND hash IN (SELECT hash FROM m)
RETURNING hash, status_list, status_idx`;

/**
 * Opens (creating when missing) an SQLite store: WAL, `synchronous=NORMAL`, a busy timeout, migrations
 * applied. Every statement is prepared once here. Reads run at once; each write is one synchronous unit
 * (nothing of this process interleaves with it) inside a group-committed `BEGIN IMMEDIATE` transaction,
 * which also serialises it against other processes on the same file.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const path = text(options.path, 'path');
  const busyTimeoutMs = integer(options.busyTimeoutMs ?? 5000, 'busyTimeoutMs');
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function');
  const inMemory = path === ':memory:';
  if (!inMemory) {
    const dir = dirname(resolve(path));
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Create the file ourselves so it never exists with wider permissions than 0600.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  try {
    db.exec(
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = ${busyTimeoutMs};`,
    );
    migrateSqlite(db, SQLITE_MIGRATIONS, Math.floor(clock()));
    if (!inMemory) {
      for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
    }
    return new SqliteStore(db, clock);
  } catch (error) {
    db.close();
    throw error;
  }
}

class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly agents: AgentStore;
  readonly tokens: TokenStore;
  readonly statusLists: StatusListStore;
  readonly keys: KeyStore;
  readonly replay: ReplayStore;
  readonly issuers: IssuerStore;
  readonly #db: DatabaseSync;
  readonly #group: GroupCommit;

  constructor(db: DatabaseSync, clock: Clock) {
    this.#db = db;
    const now = () => Math.floor(clock());
    const s = (sql: string): StatementSync => db.prepare(sql);
    this.#group = new GroupCommit(db);
    const tx: Tx = (fn) => this.#group.write(fn);
    const bits = new SqliteStatusBits(s);
    this.agents = new SqliteAgents(s, tx, now);
    this.tokens = new SqliteTokens(s, tx, bits);
    this.statusLists = new SqliteStatusLists(s, tx, bits);
    this.keys = new SqliteKeys(s, tx);
    this.replay = new SqliteReplay(s, tx, now);
    this.issuers = new SqliteIssuers(s, tx);
  }

  async close(): Promise<void> {
    if (!this.#db.isOpen) return;
    this.#group.flush();
    this.#db.close();
  }
}

type Prepare = (sql: string) => StatementSync;
/** Runs `fn` (synchronous) inside the next group-committed transaction; resolves once committed. */
type Tx = <T>(fn: () => T) => Promise<T>;

class SqliteAgents implements AgentStore {
  readonly #tx: Tx;
  readonly #now: () => number;
  readonly #insert: StatementSync;
  readonly #insertKey: StatementSync;
  readonly #get: StatementSync;
  readonly #byJkt: StatementSync;
  readonly #list: StatementSync;
  readonly #listByStatus: StatementSync;
  readonly #setStatus: StatementSync;
  readonly #update: StatementSync;
  readonly #endKey: StatementSync;
  readonly #pruneKeys: StatementSync;
  readonly #setKey: StatementSync;
  readonly #insertClientId: StatementSync;
  readonly #deleteClientIds: StatementSync;
  readonly #byClientId: StatementSync;

  constructor(s: Prepare, tx: Tx, now: () => number) {
    this.#tx = tx;
    this.#now = now;
    this.#insert = s(
      `INSERT INTO agents (${AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertClientId = s('INSERT INTO agent_client_ids (issuer, client_id, agent_id) VALUES (?, ?, ?)');
    this.#deleteClientIds = s('DELETE FROM agent_client_ids WHERE agent_id = ?');
    this.#byClientId = s(
      `SELECT ${AGENT_COLUMNS.replace(/(\w+)/g, 'a.$1')} FROM agent_client_ids c JOIN agents a ON a.id = c.agent_id
       WHERE c.issuer = ? AND c.client_id = ?`,
    );
    this.#insertKey = s('INSERT INTO agent_keys (jkt, agent_id, until) VALUES (?, ?, NULL)');
    this.#get = s(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`);
    this.#byJkt = s(
      `SELECT ${AGENT_COLUMNS.replace(/(\w+)/g, 'a.$1')} FROM agent_keys k JOIN agents a ON a.id = k.agent_id
       WHERE k.jkt = ? AND (k.until IS NULL OR k.until > ?)`,
    );
    this.#list = s(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id > ? ORDER BY id LIMIT ?`);
    this.#listByStatus = s(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE status = ? AND id > ? ORDER BY id LIMIT ?`,
    );
    this.#setStatus = s(
      `UPDATE agents SET status = ?, updated_at = ? WHERE id = ? RETURNING ${AGENT_COLUMNS}`,
    );
    this.#update = s(
      `UPDATE agents SET name = COALESCE(?, name), owner = COALESCE(?, owner), tier = COALESCE(?, tier),
         trust_level = COALESCE(?, trust_level), allowed_audiences = COALESCE(?, allowed_audiences),
         max_depth = COALESCE(?, max_depth), client_ids = COALESCE(?, client_ids), updated_at = ?
       WHERE id = ? RETURNING ${AGENT_COLUMNS}`,
    );
    this.#endKey = s('UPDATE agent_keys SET until = ? WHERE jkt = ?');
    this.#pruneKeys = s('DELETE FROM agent_keys WHERE agent_id = ? AND until IS NOT NULL AND until <= ?');
    this.#setKey = s(
      `UPDATE agents SET public_jwk = ?, jkt = ?, previous_keys = ?, updated_at = ? WHERE id = ?
       RETURNING ${AGENT_COLUMNS}`,
    );
  }

  async create(agent: NewAgent): Promise<AgentRecord> {
    checkNewAgent(agent);
    const now = this.#now();
    const values = agentValues(agent, now);
    return this.#tx(() => {
      try {
        this.#insert.run(...values);
      } catch (error) {
        if (isUniqueViolation(error))
          throw new StoreConflictError('agent id already exists', { cause: error });
        throw error;
      }
      try {
        this.#insertKey.run(agent.jkt, agent.id);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new StoreConflictError('key thumbprint already registered', { cause: error });
        }
        throw error;
      }
      this.#indexClientIds(agent.id, agent.clientIds ?? {});
      return agentFromRow(this.#get.get(agent.id) as Row);
    });
  }

  /** Writes the agent's (issuer, client id) pairs; a pair held by another agent is a conflict. */
  #indexClientIds(id: string, clientIds: Record<string, string>): void {
    this.#deleteClientIds.run(id);
    for (const [issuer, clientId] of Object.entries(clientIds)) {
      try {
        this.#insertClientId.run(issuer, clientId, id);
      } catch (error) {
        if (isUniqueViolation(error))
          throw new StoreConflictError('client id already registered at that issuer', { cause: error });
        throw error;
      }
    }
  }

  async getByClientId(issuer: string, clientId: string): Promise<AgentRecord | null> {
    const row = this.#byClientId.get(text(issuer, 'issuer', 2048), text(clientId, 'client id', 512)) as
      | Row
      | undefined;
    return row === undefined ? null : agentFromRow(row);
  }

  async get(id: string): Promise<AgentRecord | null> {
    const row = this.#get.get(text(id, 'agent id')) as Row | undefined;
    return row === undefined ? null : agentFromRow(row);
  }

  async getByKeyThumbprint(jkt: string): Promise<AgentRecord | null> {
    const row = this.#byJkt.get(text(jkt, 'jkt'), this.#now()) as Row | undefined;
    return row === undefined ? null : agentFromRow(row);
  }

  async list(query: AgentListQuery): Promise<Page<AgentRecord>> {
    checkListQuery(query);
    const after = query.after ?? '';
    const rows = (
      query.status === undefined
        ? this.#list.all(after, query.limit + 1)
        : this.#listByStatus.all(query.status, after, query.limit + 1)
    ) as Row[];
    const items = rows.slice(0, query.limit).map(agentFromRow);
    return { items, next: rows.length > query.limit ? items.at(-1)!.id : null };
  }

  async setStatus(id: string, status: AgentStatus): Promise<AgentRecord> {
    text(id, 'agent id');
    agentStatus(status);
    const now = this.#now();
    return this.#tx(() => this.#returning(this.#setStatus.get(status, now, id) as Row | undefined, id));
  }

  async update(id: string, patch: AgentPatch): Promise<AgentRecord> {
    text(id, 'agent id');
    const values = patchValues(patch);
    const now = this.#now();
    return this.#tx(() => {
      const updated = this.#returning(this.#update.get(...values, now, id) as Row | undefined, id);
      if (patch.clientIds !== undefined) this.#indexClientIds(id, patch.clientIds);
      return updated;
    });
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
    return this.#tx(() => {
      const row = this.#get.get(id) as Row | undefined;
      if (row === undefined) throw new StoreNotFoundError(`no agent ${id}`);
      const current = agentFromRow(row);
      try {
        this.#insertKey.run(newJkt, id);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new StoreConflictError('key thumbprint already registered', { cause: error });
        }
        throw error;
      }
      this.#endKey.run(overlapUntil, current.jkt);
      this.#pruneKeys.run(id, now);
      const previous: PreviousAgentKey[] = current.previousKeys.filter((k) => k.until > now);
      if (overlapUntil > now)
        previous.push({ jwk: current.publicJwk, jkt: current.jkt, until: overlapUntil });
      const updated = this.#setKey.get(
        JSON.stringify(newJwk),
        newJkt,
        JSON.stringify(previous),
        now,
        id,
      ) as Row;
      return agentFromRow(updated);
    });
  }

  #returning(row: Row | undefined, id: string): AgentRecord {
    if (row === undefined) throw new StoreNotFoundError(`no agent ${id}`);
    return agentFromRow(row);
  }
}

/** Status-bit writes, always called inside the caller's transaction. */
class SqliteStatusBits {
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;

  constructor(s: Prepare) {
    this.#select = s('SELECT next_idx, version, bits FROM status_lists WHERE list_id = ?');
    this.#insert = s('INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES (?, ?, ?, ?)');
    this.#update = s('UPDATE status_lists SET next_idx = ?, version = ?, bits = ? WHERE list_id = ?');
  }

  set(listId: string, indices: readonly number[], value: 0 | 1): void {
    if (indices.length === 0) return;
    const row = this.#select.get(listId) as Row | undefined;
    const size = row === undefined ? 0 : Number(row['next_idx']);
    const version = row === undefined ? 0 : Number(row['version']);
    const before = row === undefined ? new Uint8Array(0) : (row['bits'] as Uint8Array);
    const after = applyBits(before, size, indices, value);
    const newVersion = after.changed ? version + 1 : version;
    if (row === undefined) this.#insert.run(listId, after.size, newVersion, after.bits);
    else if (after.changed || after.size !== size)
      this.#update.run(after.size, newVersion, after.bits, listId);
  }

  /** Sets the bit of every revoked token that has a status slot, list by list. */
  setRevoked(tokens: readonly RevokedToken[]): void {
    const byList = new Map<string, number[]>();
    for (const t of tokens) {
      if (t.statusList === null || t.statusIdx === null) continue;
      const list = byList.get(t.statusList);
      if (list) list.push(t.statusIdx);
      else byList.set(t.statusList, [t.statusIdx]);
    }
    for (const listId of [...byList.keys()].sort()) this.set(listId, byList.get(listId)!, 1);
  }
}

class SqliteTokens implements TokenStore {
  readonly #tx: Tx;
  readonly #bits: SqliteStatusBits;
  readonly #insert: StatementSync;
  readonly #insertActor: StatementSync;
  readonly #parentState: StatementSync;
  readonly #get: StatementSync;
  readonly #getByJti: StatementSync;
  readonly #children: StatementSync;
  readonly #descendants: StatementSync;
  readonly #isRevoked: StatementSync;
  readonly #byTxn: StatementSync;
  readonly #live: StatementSync;
  readonly #revoke: Readonly<Record<SelectorKind, StatementSync>>;

  constructor(s: Prepare, tx: Tx, bits: SqliteStatusBits) {
    this.#tx = tx;
    this.#bits = bits;
    this.#insert = s(`INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES (${Array(17).fill('?').join(', ')})`);
    this.#insertActor = s('INSERT OR IGNORE INTO token_actors (agent_id, hash) VALUES (?, ?)');
    this.#parentState = s('SELECT revoked_at, revoke_reason FROM tokens WHERE hash = ?');
    this.#get = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`);
    this.#getByJti = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE jti = ?`);
    this.#children = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE parent_hash = ? ORDER BY iat, hash`);
    this.#descendants = s(
      `WITH RECURSIVE d(hash) AS (
         SELECT hash FROM tokens WHERE parent_hash = ?
         UNION
         SELECT t.hash FROM tokens t JOIN d ON t.parent_hash = d.hash
       )
       SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash IN (SELECT hash FROM d) ORDER BY iat, hash`,
    );
    this.#isRevoked = s('SELECT revoked_at FROM tokens WHERE hash = ?');
    this.#byTxn = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE txn = ? ORDER BY iat, hash`);
    this.#live = s(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE exp > ? AND revoked_at IS NULL ORDER BY iat, hash`,
    );
    this.#revoke = {
      hash: s(revokeSql(MATCH.hash)),
      txn: s(revokeSql(MATCH.txn)),
      agentId: s(revokeSql(MATCH.agentId)),
      sub: s(revokeSql(MATCH.sub)),
    };
  }

  async record(token: IssuedToken): Promise<IssuedToken> {
    checkToken(token);
    return this.#tx(() => {
      let stored: IssuedToken = { ...token, actors: [...token.actors] };
      if (token.parentHash !== null && token.revokedAt === null) {
        const parent = this.#parentState.get(token.parentHash) as Row | undefined;
        if (parent !== undefined && parent['revoked_at'] !== null) {
          stored = {
            ...stored,
            revokedAt: Number(parent['revoked_at']),
            revokeReason: parent['revoke_reason'] as string | null,
          };
        }
      }
      try {
        this.#insert.run(...tokenValues(stored));
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new StoreConflictError(`token ${token.hash} (or its jti) already recorded`, { cause: error });
        }
        throw error;
      }
      for (const actor of new Set(stored.actors)) this.#insertActor.run(actor, stored.hash);
      if (stored.revokedAt !== null) this.#bits.setRevoked([stored]);
      return stored;
    });
  }

  async get(hash: string): Promise<IssuedToken | null> {
    const row = this.#get.get(text(hash, 'hash')) as Row | undefined;
    return row === undefined ? null : tokenFromRow(row);
  }

  async getByJti(jti: string): Promise<IssuedToken | null> {
    const row = this.#getByJti.get(text(jti, 'jti')) as Row | undefined;
    return row === undefined ? null : tokenFromRow(row);
  }

  async children(hash: string): Promise<IssuedToken[]> {
    return (this.#children.all(text(hash, 'hash')) as Row[]).map(tokenFromRow);
  }

  async descendants(hash: string): Promise<IssuedToken[]> {
    return (this.#descendants.all(text(hash, 'hash')) as Row[]).map(tokenFromRow);
  }

  async revoke(selector: RevokeSelector, reason: string, at: number): Promise<RevokedToken[]> {
    const { kind, value } = checkSelector(selector);
    anyText(reason, 'reason');
    integer(at, 'at');
    return this.#tx(() => {
      const revoked = (this.#revoke[kind].all(value, at, reason) as Row[]).map((row) => ({
        hash: row['hash'] as string,
        statusList: row['status_list'] as string | null,
        statusIdx: row['status_idx'] === null ? null : Number(row['status_idx']),
      }));
      this.#bits.setRevoked(revoked);
      return revoked;
    });
  }

  async isRevoked(hash: string): Promise<boolean | null> {
    const row = this.#isRevoked.get(text(hash, 'hash')) as Row | undefined;
    return row === undefined ? null : row['revoked_at'] !== null;
  }

  async listByTxn(txn: string): Promise<IssuedToken[]> {
    return (this.#byTxn.all(text(txn, 'txn')) as Row[]).map(tokenFromRow);
  }

  async listLive(now: number): Promise<IssuedToken[]> {
    return (this.#live.all(integer(now, 'now')) as Row[]).map(tokenFromRow);
  }
}

class SqliteStatusLists implements StatusListStore {
  readonly #tx: Tx;
  readonly #bits: SqliteStatusBits;
  readonly #allocate: StatementSync;
  readonly #get: StatementSync;

  constructor(s: Prepare, tx: Tx, bits: SqliteStatusBits) {
    this.#tx = tx;
    this.#bits = bits;
    this.#allocate = s(
      `INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES (?1, ?2, 0, x'')
       ON CONFLICT (list_id) DO UPDATE SET next_idx = status_lists.next_idx + ?2
       RETURNING next_idx - ?2 AS idx`,
    );
    this.#get = s('SELECT next_idx, version, bits FROM status_lists WHERE list_id = ?');
  }

  async allocate(listId: string, count = 1): Promise<number> {
    text(listId, 'listId');
    allocateCount(count);
    return this.#tx(() => {
      const first = Number((this.#allocate.get(listId, count) as Row)['idx']);
      if (first + count - 1 > MAX_STATUS_INDEX) throw new RangeError(`status list ${listId} is full`);
      return first;
    });
  }

  async set(listId: string, indices: readonly number[], value: 0 | 1 = 1): Promise<void> {
    text(listId, 'listId');
    checkIndices(indices, value);
    await this.#tx(() => this.#bits.set(listId, indices, value));
  }

  async get(listId: string): Promise<StatusListSnapshot | null> {
    const row = this.#get.get(text(listId, 'listId')) as Row | undefined;
    if (row === undefined) return null;
    const size = Number(row['next_idx']);
    return { bits: sizedBits(row['bits'] as Uint8Array, size), size, version: Number(row['version']) };
  }
}

class SqliteKeys implements KeyStore {
  readonly #tx: Tx;
  readonly #insert: StatementSync;
  readonly #list: StatementSync;
  readonly #setState: StatementSync;

  constructor(s: Prepare, tx: Tx) {
    this.#tx = tx;
    this.#insert = s(`INSERT INTO signing_keys (${SIGNING_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
    this.#list = s(`SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid`);
    this.#setState = s('UPDATE signing_keys SET state = ?, retire_at = ? WHERE kid = ?');
  }

  async save(key: StoredSigningKey): Promise<void> {
    checkSigningKey(key);
    const values = signingKeyValues(key);
    await this.#tx(() => {
      try {
        this.#insert.run(...values);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new StoreConflictError(`signing key ${key.kid} already exists`, { cause: error });
        }
        throw error;
      }
    });
  }

  async list(): Promise<StoredSigningKey[]> {
    return (this.#list.all() as Row[]).map(signingKeyFromRow);
  }

  async setState(kid: string, state: SigningKeyState, retireAt: number | null): Promise<void> {
    text(kid, 'kid');
    signingKeyState(state);
    nullableInteger(retireAt, 'retireAt');
    await this.#tx(() => {
      if (Number(this.#setState.run(state, retireAt, kid).changes) === 0) {
        throw new StoreNotFoundError(`no signing key ${kid}`);
      }
    });
  }
}

class SqliteReplay implements ReplayStore {
  readonly #tx: Tx;
  readonly #now: () => number;
  readonly #consume: StatementSync;
  readonly #purge: StatementSync;
  #sincePurge = 0;

  constructor(s: Prepare, tx: Tx, now: () => number) {
    this.#tx = tx;
    this.#now = now;
    // A live record makes the upsert a no-op (0 changes); an expired one is replaced (1 change).
    this.#consume = s(
      `INSERT INTO replay (namespace, id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (namespace, id) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?`,
    );
    this.#purge = s('DELETE FROM replay WHERE expires_at <= ?');
  }

  async consume(namespace: string, id: string, expiresAt: number): Promise<boolean> {
    const expiry = replayExpiry(namespace, id, expiresAt);
    const now = this.#now();
    const purge = ++this.#sincePurge >= REPLAY_PURGE_EVERY;
    if (purge) this.#sincePurge = 0;
    return this.#tx(() => {
      if (purge) this.#purge.run(now);
      return Number(this.#consume.run(namespace, id, expiry, now).changes) === 1;
    });
  }
}

class SqliteIssuers implements IssuerStore {
  readonly #tx: Tx;
  readonly #put: StatementSync;
  readonly #get: StatementSync;
  readonly #list: StatementSync;
  readonly #delete: StatementSync;

  constructor(s: Prepare, tx: Tx) {
    this.#tx = tx;
    this.#put = s(
      `INSERT INTO issuers (${ISSUER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (issuer) DO UPDATE SET kind = excluded.kind, audience = excluded.audience,
         jwks_uri = excluded.jwks_uri, jwks = excluded.jwks, mapping = excluded.mapping,
         assertions = excluded.assertions, max_assertion_age_seconds = excluded.max_assertion_age_seconds`,
    );
    this.#get = s(`SELECT ${ISSUER_COLUMNS} FROM issuers WHERE issuer = ?`);
    this.#list = s(`SELECT ${ISSUER_COLUMNS} FROM issuers ORDER BY issuer`);
    this.#delete = s('DELETE FROM issuers WHERE issuer = ?');
  }

  async put(issuer: IssuerRecord): Promise<void> {
    checkIssuer(issuer);
    const values = issuerValues(issuer);
    await this.#tx(() => this.#put.run(...values));
  }

  async get(issuer: string): Promise<IssuerRecord | null> {
    const row = this.#get.get(text(issuer, 'issuer')) as Row | undefined;
    return row === undefined ? null : issuerFromRow(row);
  }

  async list(): Promise<IssuerRecord[]> {
    return (this.#list.all() as Row[]).map(issuerFromRow);
  }

  async delete(issuer: string): Promise<boolean> {
    text(issuer, 'issuer');
    return this.#tx(() => Number(this.#delete.run(issuer).changes) > 0);
  }
}
