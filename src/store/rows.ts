/**
 * Row ↔ record mapping shared by the adapters. Both return snake_case columns with the same JS types
 * (text as string, integers as number, JSON as text), so one mapping serves both.
 */
import type { AgentRecord, IssuedToken, IssuerRecord, NewAgent, StoredSigningKey } from './ports.ts';

export type Row = Record<string, unknown>;

export const AGENT_COLUMNS =
  'id, name, owner, tier, trust_level, allowed_audiences, max_depth, status, public_jwk, jkt, previous_keys, created_at, updated_at, client_ids';

export const TOKEN_COLUMNS =
  'hash, jti, kind, parent_hash, root_hash, txn, sub, actors, audience, grants_json, policy_version, status_list, status_idx, iat, exp, revoked_at, revoke_reason';

export const SIGNING_KEY_COLUMNS = 'kid, alg, material, state, created_at, retire_at';

export const ISSUER_COLUMNS =
  'issuer, kind, audience, jwks_uri, jwks, mapping, assertions, max_assertion_age_seconds';

const int = (value: unknown): number => Number(value);
const nullableInt = (value: unknown): number | null => (value === null ? null : Number(value));
const str = (value: unknown): string => value as string;
const nullableStr = (value: unknown): string | null => (value === null ? null : (value as string));
const json = <T>(value: unknown): T => JSON.parse(value as string) as T;

export function agentFromRow(row: Row): AgentRecord {
  return {
    id: str(row['id']),
    name: str(row['name']),
    owner: str(row['owner']),
    tier: str(row['tier']),
    trustLevel: int(row['trust_level']),
    allowedAudiences: json(row['allowed_audiences']),
    maxDepth: int(row['max_depth']),
    status: str(row['status']) as AgentRecord['status'],
    publicJwk: json(row['public_jwk']),
    jkt: str(row['jkt']),
    previousKeys: json(row['previous_keys']),
    clientIds: json(row['client_ids']),
    createdAt: int(row['created_at']),
    updatedAt: int(row['updated_at']),
  };
}

/** Values in `AGENT_COLUMNS` order for a new agent. */
export function agentValues(agent: NewAgent, now: number): (string | number)[] {
  return [
    agent.id,
    agent.name,
    agent.owner,
    agent.tier,
    agent.trustLevel,
    JSON.stringify(agent.allowedAudiences),
    agent.maxDepth,
    agent.status ?? 'active',
    JSON.stringify(agent.publicJwk),
    agent.jkt,
    '[]',
    now,
    now,
    JSON.stringify(agent.clientIds ?? {}),
  ];
}

export function tokenFromRow(row: Row): IssuedToken {
  return {
    hash: str(row['hash']),
    jti: str(row['jti']),
    kind: str(row['kind']) as IssuedToken['kind'],
    parentHash: nullableStr(row['parent_hash']),
    rootHash: nullableStr(row['root_hash']),
    txn: nullableStr(row['txn']),
    sub: str(row['sub']),
    actors: json(row['actors']),
    audience: str(row['audience']),
    grantsJson: nullableStr(row['grants_json']),
    policyVersion: nullableStr(row['policy_version']),
    statusList: nullableStr(row['status_list']),
    statusIdx: nullableInt(row['status_idx']),
    iat: int(row['iat']),
    exp: int(row['exp']),
    revokedAt: nullableInt(row['revoked_at']),
    revokeReason: nullableStr(row['revoke_reason']),
  };
}

/** Values in `TOKEN_COLUMNS` order. */
export function tokenValues(token: IssuedToken): (string | number | null)[] {
  return [
    token.hash,
    token.jti,
    token.kind,
    token.parentHash,
    token.rootHash,
    token.txn,
    token.sub,
    JSON.stringify(token.actors),
    token.audience,
    token.grantsJson,
    token.policyVersion,
    token.statusList,
    token.statusIdx,
    token.iat,
    token.exp,
    token.revokedAt,
    token.revokeReason,
  ];
}

export function signingKeyFromRow(row: Row): StoredSigningKey {
  return {
    kid: str(row['kid']),
    alg: str(row['alg']),
    material: str(row['material']),
    state: str(row['state']) as StoredSigningKey['state'],
    createdAt: int(row['created_at']),
    retireAt: nullableInt(row['retire_at']),
  };
}

export function signingKeyValues(key: StoredSigningKey): (string | number | null)[] {
  return [key.kid, key.alg, key.material, key.state, key.createdAt, key.retireAt];
}

export function issuerFromRow(row: Row): IssuerRecord {
  return {
    issuer: str(row['issuer']),
    kind: str(row['kind']) as IssuerRecord['kind'],
    audience: str(row['audience']),
    jwksUri: nullableStr(row['jwks_uri']),
    jwks: row['jwks'] === null ? null : json(row['jwks']),
    mapping: row['mapping'] === null ? null : json(row['mapping']),
    assertions: row['assertions'] === null ? null : json(row['assertions']),
    maxAssertionAgeSeconds: nullableInt(row['max_assertion_age_seconds']),
  };
}

export function issuerValues(issuer: IssuerRecord): (string | number | null)[] {
  return [
    issuer.issuer,
    issuer.kind,
    issuer.audience,
    issuer.jwksUri,
    issuer.jwks === null ? null : JSON.stringify(issuer.jwks),
    issuer.mapping === null ? null : JSON.stringify(issuer.mapping),
    issuer.assertions === null ? null : JSON.stringify(issuer.assertions),
    issuer.maxAssertionAgeSeconds,
  ];
}
