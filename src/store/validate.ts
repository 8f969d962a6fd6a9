/**
 * Argument checks shared by every adapter: caller mistakes are `TypeError`s (or `RangeError`s), raised
 * before any SQL runs, so both adapters refuse exactly the same inputs.
 */
import type {
  AgentListQuery,
  AgentPatch,
  AgentStatus,
  IssuedToken,
  IssuerRecord,
  JsonObject,
  NewAgent,
  RevokeSelector,
  SigningKeyState,
  StoredSigningKey,
} from './ports.ts';

const MAX_TEXT = 4096;
export const MAX_LIST_LIMIT = 1000;

/** `value` when it is an object (not null); a `TypeError` saying `what` must be one otherwise. */
function object<T>(value: T, what: string): T {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${what} must be an object`);
  return value;
}

/** `value` when it is one of `allowed`; a `TypeError` listing them otherwise (`a, b or c`). */
function oneOf<const V extends string>(value: unknown, allowed: readonly V[], what: string): V {
  if (!allowed.includes(value as V)) {
    const list = `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`;
    throw new TypeError(`${what} must be ${list}`);
  }
  return value as V;
}

export function text(value: unknown, what: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new TypeError(`${what} must be a string of 1..${max} characters`);
  }
  return value;
}

export function nullableText(value: unknown, what: string, max = MAX_TEXT): string | null {
  return value === null ? null : text(value, what, max);
}

/** Any string, empty allowed (names, reasons). */
export function anyText(value: unknown, what: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.length > max) throw new TypeError(`${what} must be a string`);
  return value;
}

export function integer(value: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${what} must be an integer in ${min}..${max}`);
  }
  return value;
}

export function nullableInteger(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number | null {
  return value === null ? null : integer(value, what, 0, max);
}

/** Status-list indices fit a signed 32-bit column on every adapter. */
export const MAX_STATUS_INDEX = 2 ** 31 - 2;

export function jsonObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be a JSON object`);
  }
  return value as JsonObject;
}

export function nullableJsonObject(value: unknown, what: string): JsonObject | null {
  return value === null ? null : jsonObject(value, what);
}

export function stringArray(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new TypeError(`${what} must be an array of non-empty strings`);
  }
  return value as string[];
}

export function agentStatus(value: unknown): AgentStatus {
  return oneOf(value, ['active', 'disabled'], 'status');
}

export function checkNewAgent(agent: NewAgent): void {
  object(agent, 'agent');
  text(agent.id, 'agent id');
  anyText(agent.name, 'agent name');
  anyText(agent.owner, 'agent owner');
  anyText(agent.tier, 'agent tier');
  integer(agent.trustLevel, 'trustLevel');
  stringArray(agent.allowedAudiences, 'allowedAudiences');
  integer(agent.maxDepth, 'maxDepth');
  if (agent.status !== undefined) agentStatus(agent.status);
  jsonObject(agent.publicJwk, 'publicJwk');
  text(agent.jkt, 'jkt');
  if (agent.clientIds !== undefined) clientIds(agent.clientIds);
}

export function checkRotation(id: unknown, newJwk: unknown, newJkt: unknown, overlapUntil: unknown): void {
  text(id, 'agent id');
  jsonObject(newJwk, 'newJwk');
  text(newJkt, 'newJkt');
  integer(overlapUntil, 'overlapUntil');
}

/** At most this many OpenID providers per agent. */
export const MAX_CLIENT_IDS = 32;

/** An issuer → client id map: non-empty strings on both sides, at most `MAX_CLIENT_IDS` entries. */
export function clientIds(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError('clientIds must be an object of issuer → client id');
  const entries = Object.entries(value);
  if (entries.length > MAX_CLIENT_IDS)
    throw new TypeError(`clientIds holds more than ${MAX_CLIENT_IDS} issuers`);
  for (const [issuer, clientId] of entries) {
    text(issuer, 'clientIds issuer', 2048);
    text(clientId, 'client id', 512);
  }
  return value as Record<string, string>;
}

/**
 * Normalises a patch to the six nullable positional values every adapter's UPDATE takes (`clientIds`, when
 * present, is checked here and written by the adapter beside its client-id index).
 */
export function patchValues(patch: AgentPatch): (string | number | null)[] {
  object(patch, 'patch');
  for (const key of Object.keys(patch)) {
    if (!['name', 'owner', 'tier', 'trustLevel', 'allowedAudiences', 'maxDepth', 'clientIds'].includes(key)) {
      throw new TypeError(`patch cannot change ${key}`);
    }
  }
  return [
    patch.name === undefined ? null : anyText(patch.name, 'name'),
    patch.owner === undefined ? null : anyText(patch.owner, 'owner'),
    patch.tier === undefined ? null : anyText(patch.tier, 'tier'),
    patch.trustLevel === undefined ? null : integer(patch.trustLevel, 'trustLevel'),
    patch.allowedAudiences === undefined
      ? null
      : JSON.stringify(stringArray(patch.allowedAudiences, 'allowedAudiences')),
    patch.maxDepth === undefined ? null : integer(patch.maxDepth, 'maxDepth'),
    patch.clientIds === undefined ? null : JSON.stringify(clientIds(patch.clientIds)),
  ];
}

export function checkListQuery(query: AgentListQuery): void {
  object(query, 'query');
  integer(query.limit, 'limit', 1);
  if (query.limit > MAX_LIST_LIMIT) throw new TypeError(`limit must be at most ${MAX_LIST_LIMIT}`);
  if (query.status !== undefined) agentStatus(query.status);
  if (query.after !== undefined) text(query.after, 'after');
}

export function checkToken(token: IssuedToken): void {
  object(token, 'token');
  text(token.hash, 'token hash');
  text(token.jti, 'jti');
  oneOf(token.kind, ['identity', 'warrant'], 'kind');
  nullableText(token.parentHash, 'parentHash');
  nullableText(token.rootHash, 'rootHash');
  nullableText(token.txn, 'txn');
  text(token.sub, 'sub');
  stringArray(token.actors, 'actors');
  text(token.audience, 'audience');
  if (token.grantsJson !== null && typeof token.grantsJson !== 'string') {
    throw new TypeError('grantsJson must be a string or null');
  }
  nullableText(token.policyVersion, 'policyVersion');
  nullableText(token.statusList, 'statusList');
  nullableInteger(token.statusIdx, 'statusIdx', MAX_STATUS_INDEX);
  if ((token.statusList === null) !== (token.statusIdx === null)) {
    throw new TypeError('statusList and statusIdx are both set or both null');
  }
  integer(token.iat, 'iat');
  integer(token.exp, 'exp');
  nullableInteger(token.revokedAt, 'revokedAt');
  if (token.revokeReason !== null) anyText(token.revokeReason, 'revokeReason');
}

export type SelectorKind = 'hash' | 'txn' | 'agentId' | 'sub';

export function checkSelector(selector: RevokeSelector): { kind: SelectorKind; value: string } {
  object(selector, 'selector');
  const keys = Object.keys(selector);
  const kind = keys[0];
  if (keys.length !== 1 || (kind !== 'hash' && kind !== 'txn' && kind !== 'agentId' && kind !== 'sub')) {
    throw new TypeError('selector must be exactly one of {hash}, {txn}, {agentId}, {sub}');
  }
  return { kind, value: text((selector as Record<string, unknown>)[kind], `selector ${kind}`) };
}

export const MAX_ALLOCATE = 65536;

export function allocateCount(count: unknown): number {
  return integer(count, 'count', 1, MAX_ALLOCATE);
}

export function checkIndices(indices: readonly number[], value: unknown): void {
  if (!Array.isArray(indices)) throw new TypeError('indices must be an array');
  for (const i of indices) integer(i, 'status index', 0, MAX_STATUS_INDEX);
  if (value !== 0 && value !== 1) throw new TypeError('value must be 0 or 1');
}

export function signingKeyState(value: unknown): SigningKeyState {
  return oneOf(value, ['current', 'previous'], 'state');
}

export function checkSigningKey(key: StoredSigningKey): void {
  object(key, 'key');
  text(key.kid, 'kid');
  text(key.alg, 'alg');
  // Never echo the material: only its type is checked.
  if (typeof key.material !== 'string') throw new TypeError('material must be a string');
  signingKeyState(key.state);
  integer(key.createdAt, 'createdAt');
  nullableInteger(key.retireAt, 'retireAt');
}

export function checkIssuer(issuer: IssuerRecord): void {
  object(issuer, 'issuer');
  text(issuer.issuer, 'issuer');
  oneOf(issuer.kind, ['oidc', 'kubernetes', 'spiffe'], 'issuer kind');
  text(issuer.audience, 'audience');
  nullableText(issuer.jwksUri, 'jwksUri');
  nullableJsonObject(issuer.jwks, 'jwks');
  nullableJsonObject(issuer.mapping, 'mapping');
  if (
    issuer.assertions !== null &&
    (!Array.isArray(issuer.assertions) ||
      issuer.assertions.some((a) => a !== 'id_token' && a !== 'id_jag') ||
      new Set(issuer.assertions).size !== issuer.assertions.length)
  ) {
    throw new TypeError('assertions must be null or distinct values of id_token, id_jag');
  }
  nullableInteger(issuer.maxAssertionAgeSeconds, 'maxAssertionAgeSeconds');
}

/** Replay expiries: positive and finite; rounded up so a record never lives shorter than asked. */
export function replayExpiry(namespace: unknown, id: unknown, expiresAt: unknown): number {
  text(namespace, 'namespace', 128);
  text(id, 'replay id', 512);
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= 0) {
    throw new TypeError('expiresAt must be a positive finite number');
  }
  return Math.ceil(expiresAt);
}
