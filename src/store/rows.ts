/**
 * The STS store's record kinds as tables of `field: [column, codec]` (see `src/sql/record-table.ts`), shared
 * by both adapters, and the row helpers the adapters share.
 */
import {
  asIs,
  type ColumnValue,
  int,
  json,
  nullableInt,
  nullableJson,
  recordTable,
} from '../sql/record-table.ts';
import type { Row } from '../sql/row.ts';
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

export type { Row } from '../sql/row.ts';

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
