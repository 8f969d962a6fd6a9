/**
 * Row ↔ record mapping shared by the adapters. Both return snake_case columns with the same JS types
 * (text as string, integers as number — PostgreSQL's BIGINT parsed to one —, JSON as text), so one mapping
 * serves both. Each record kind is one table of `field: [column, codec]`: its column list, its row reader
 * and the positional values of its INSERT all come from that table, so they cannot drift apart.
 */
import { StoreNotFoundError } from './errors.ts';
import type {
  AgentRecord,
  IssuedToken,
  IssuerRecord,
  NewAgent,
  Page,
  RevokedToken,
  StoredSigningKey,
} from './ports.ts';

export type Row = Record<string, unknown>;

/** What a column takes: both drivers bind these as TEXT, INTEGER/BIGINT or NULL. */
export type ColumnValue = string | number | null;

/** How one field is read from its column and written to it. */
interface Codec<T> {
  read(value: unknown): T;
  write(value: T): ColumnValue;
}

const IDENTITY: Codec<unknown> = { read: (value) => value, write: (value) => value as ColumnValue };
/** Text (and nullable text) arrives as the JS value it is. */
const asIs = <T>(): Codec<T> => IDENTITY as Codec<T>;
const int: Codec<number> = { read: (value) => Number(value), write: (value) => value };
const nullableInt: Codec<number | null> = {
  read: (value) => (value === null ? null : Number(value)),
  write: (value) => value,
};
const json = <T>(): Codec<T> => ({
  read: (value) => JSON.parse(value as string) as T,
  write: (value) => JSON.stringify(value),
});
const nullableJson = <T>(): Codec<T | null> => ({
  read: (value) => (value === null ? null : (JSON.parse(value as string) as T)),
  write: (value) => (value === null ? null : JSON.stringify(value)),
});

/** One record kind's columns, in table (and INSERT) order. */
export interface RecordTable<R> {
  /** `a, b, c`: for SELECT lists and INSERT column lists. */
  readonly columns: string;
  /** `x.a, x.b, x.c`: the columns of the table aliased `x` in a join. */
  columnsOf(alias: string): string;
  fromRow(row: Row): R;
  /** Positional values in `columns` order. */
  values(record: R): ColumnValue[];
}

function recordTable<R>(spec: { readonly [K in keyof R]-?: readonly [string, Codec<R[K]>] }): RecordTable<R> {
  const fields = Object.keys(spec) as (keyof R)[];
  const columns = fields.map((f) => spec[f][0]);
  const codecs = fields.map((f) => spec[f][1] as Codec<unknown>);
  return {
    columns: columns.join(', '),
    columnsOf: (alias) => columns.map((c) => `${alias}.${c}`).join(', '),
    fromRow(row) {
      const record = {} as Record<keyof R, unknown>;
      for (let i = 0; i < fields.length; i++) record[fields[i]!] = codecs[i]!.read(row[columns[i]!]);
      return record as R;
    },
    values(record) {
      const values = new Array<ColumnValue>(fields.length);
      for (let i = 0; i < fields.length; i++) values[i] = codecs[i]!.write(record[fields[i]!]);
      return values;
    },
  };
}

export const AGENTS = recordTable<AgentRecord>({
  id: ['id', asIs()],
  name: ['name', asIs()],
  owner: ['owner', asIs()],
  tier: ['tier', asIs()],
  trustLevel: ['trust_level', int],
  allowedAudiences: ['allowed_audiences', json()],
  maxDepth: ['max_depth', int],
  status: ['status', asIs()],
  publicJwk: ['public_jwk', json()],
  jkt: ['jkt', asIs()],
  previousKeys: ['previous_keys', json()],
  createdAt: ['created_at', int],
  updatedAt: ['updated_at', int],
  clientIds: ['client_ids', json()],
});

export const TOKENS = recordTable<IssuedToken>({
  hash: ['hash', asIs()],
  jti: ['jti', asIs()],
  kind: ['kind', asIs()],
  parentHash: ['parent_hash', asIs()],
  rootHash: ['root_hash', asIs()],
  txn: ['txn', asIs()],
  sub: ['sub', asIs()],
  actors: ['actors', json()],
  audience: ['audience', asIs()],
  grantsJson: ['grants_json', asIs()],
  policyVersion: ['policy_version', asIs()],
  statusList: ['status_list', asIs()],
  statusIdx: ['status_idx', nullableInt],
  iat: ['iat', int],
  exp: ['exp', int],
  revokedAt: ['revoked_at', nullableInt],
  revokeReason: ['revoke_reason', asIs()],
});

export const SIGNING_KEYS = recordTable<StoredSigningKey>({
  kid: ['kid', asIs()],
  alg: ['alg', asIs()],
  material: ['material', asIs()],
  state: ['state', asIs()],
  createdAt: ['created_at', int],
  retireAt: ['retire_at', nullableInt],
});

export const ISSUERS = recordTable<IssuerRecord>({
  issuer: ['issuer', asIs()],
  kind: ['kind', asIs()],
  audience: ['audience', asIs()],
  jwksUri: ['jwks_uri', asIs()],
  jwks: ['jwks', nullableJson()],
  mapping: ['mapping', nullableJson()],
  assertions: ['assertions', nullableJson()],
  maxAssertionAgeSeconds: ['max_assertion_age_seconds', nullableInt],
});

/** `map(row)`, or `null` when the lookup found no row. */
export function mapOrNull<R>(row: Row | undefined, map: (row: Row) => R): R | null {
  return row === undefined ? null : map(row);
}

/** Values in `AGENTS.columns` order for a new agent: active, no previous keys, no client ids by default. */
export function newAgentValues(agent: NewAgent, now: number): ColumnValue[] {
  return AGENTS.values({
    ...agent,
    status: agent.status ?? 'active',
    previousKeys: [],
    clientIds: agent.clientIds ?? {},
    createdAt: now,
    updatedAt: now,
  });
}

/** The agent a `… RETURNING` wrote, or `StoreNotFoundError` when no row matched `id`. */
export function agentOrNotFound(row: Row | undefined, id: string): AgentRecord {
  if (row === undefined) throw new StoreNotFoundError(`no agent ${id}`);
  return AGENTS.fromRow(row);
}

/** A keyset page of agents from up to `limit + 1` rows by id: a row past `limit` only says a page follows. */
export function agentPage(rows: readonly Row[], limit: number): Page<AgentRecord> {
  const items = rows.slice(0, limit).map(AGENTS.fromRow);
  return { items, next: rows.length > limit ? items.at(-1)!.id : null };
}

/** A row of `… RETURNING hash, status_list, status_idx`. */
export function revokedFromRow(row: Row): RevokedToken {
  return {
    hash: row['hash'] as string,
    statusList: row['status_list'] as string | null,
    statusIdx: row['status_idx'] === null ? null : Number(row['status_idx']),
  };
}
