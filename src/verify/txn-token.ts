/**
 * The Transaction Token the gateway sends upstream (DESIGN §7, draft-ietf-oauth-transaction-tokens): a
 * short-lived JWT (`typ: txntoken+jwt`) signed by the gateway's own key, saying which person this call is
 * for, which agents carried it (the actor chain), under which grant and in which transaction. An upstream
 * reachable by other paths verifies it (`verifyTxnToken`) instead of trusting plain headers: anyone who
 * can reach the upstream can forge a header, nobody without the gateway's key can forge this token.
 *
 * Wire format (header `Txn-Token: <compact JWS>`):
 *   header  {alg: "EdDSA", kid: <RFC 7638 thumbprint>, typ: "txntoken+jwt"}
 *   claims  {iss: <gateway public URL>, aud: <route audience>, iat, exp (iat + 60 s), jti: <uuid>,
 *            txn, sub: <person>, scope: <space-separated actions of the grants used>, req_wl: <gateway id>,
 *            tctx: {person_iss, actors: [first agent … current holder], grants: [grants used],
 *                   warrant: <presented warrant hash>, chain: <chain digest or warrant hash>,
 *                   decision: <decision record id>}}
 * The gateway publishes its verification keys at `GET /.well-known/txn-token-jwks.json` on its listener.
 */
import { TokenError } from '../core/errors.ts';
import { type Grant, parseGrants, scopeOf } from '../core/grants/index.ts';
import { isThumbprintShape, type SigningKey } from '../core/jose/jwk.ts';
import {
  type KeyResolver,
  parseCompact,
  signCompact,
  signCompactAsync,
  verifyParsed,
} from '../core/jose/jws.ts';
import { KeySet } from '../core/jose/key-set.ts';
import { checkTimes, epochSeconds } from '../core/tokens/verify-token.ts';
import type { ReplayCache } from '../replay/index.ts';

export const TXN_TOKEN_TYP = 'txntoken+jwt';
/** The request header that carries it. */
export const TXN_TOKEN_HEADER = 'txn-token';
/** Where a gateway publishes the keys its Txn-Tokens verify with (on its own listener). */
export const TXN_TOKEN_JWKS_PATH = '/.well-known/txn-token-jwks.json';
/** Default lifetime: one forwarded call, with room for a slow upstream to check it. */
export const TXN_TOKEN_LIFETIME_SECONDS = 60;
/** Longest lifetime a verifier accepts: a Txn-Token is for one call, never a session. */
export const MAX_TXN_TOKEN_LIFETIME_SECONDS = 300;

/** The transaction context (`tctx`): who carried the call and under which authority. */
export interface TxnContext {
  /** The issuer that authenticated the person (the warrant's `sub_iss`). */
  readonly person_iss: string;
  /** The actor chain, from the first agent to the current holder (the caller). */
  readonly actors: readonly string[];
  /** The grants the call was allowed under (empty for a session call such as `tools/list`). */
  readonly grants: readonly Grant[];
  /** Hash of the warrant presented to the gateway. */
  readonly warrant: string;
  /** Digest of the presented `Warrant-Chain`, or the warrant hash when only a warrant was presented. */
  readonly chain: string;
  /** The id of the gateway's decision record for this call (`warrant audit trace`). */
  readonly decision: string;
}

export interface TxnTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly txn: string;
  readonly sub: string;
  readonly scope: string;
  readonly req_wl: string;
  readonly tctx: TxnContext;
}

export interface TxnTokenInput {
  /** The gateway's public URL (`iss`). */
  readonly issuer: string;
  /** The gateway's id (`req_wl`: the workload that requested the call). */
  readonly gateway: string;
  /** The route's audience (`aud`). */
  readonly audience: string;
  readonly txn: string;
  /** The person (`sub`) and the issuer that authenticated them. */
  readonly person: string;
  readonly personIssuer: string;
  readonly actors: readonly string[];
  readonly grants: readonly Grant[];
  /** The warrant's own scope, used when the call was allowed under no particular grant. */
  readonly warrantScope: string;
  readonly warrant: string;
  readonly chain: string;
  readonly decision: string;
  readonly now?: number;
  readonly lifetimeSeconds?: number;
}

/** Signs a Txn-Token with the gateway's key (EdDSA, `kid` = its thumbprint). */
export function issueTxnToken(key: SigningKey, input: TxnTokenInput): string {
  return signCompact({ typ: TXN_TOKEN_TYP }, claimsToSign(input), key);
}

/** {@link issueTxnToken} signed on libuv's thread pool: what the gateway does on every forwarded call. */
export function issueTxnTokenAsync(key: SigningKey, input: TxnTokenInput): Promise<string> {
  return signCompactAsync({ typ: TXN_TOKEN_TYP }, claimsToSign(input), key);
}

function claimsToSign(input: TxnTokenInput): Record<string, unknown> {
  const iat = input.now ?? epochSeconds();
  const claims: TxnTokenClaims = {
    iss: input.issuer,
    aud: input.audience,
    iat,
    exp: iat + (input.lifetimeSeconds ?? TXN_TOKEN_LIFETIME_SECONDS),
    jti: crypto.randomUUID(),
    txn: input.txn,
    sub: input.person,
    scope: input.grants.length > 0 ? scopeOf(input.grants) : input.warrantScope,
    req_wl: input.gateway,
    tctx: {
      person_iss: input.personIssuer,
      actors: input.actors,
      grants: input.grants,
      warrant: input.warrant,
      chain: input.chain,
      decision: input.decision,
    },
  };
  return claims as unknown as Record<string, unknown>;
}

export interface VerifyTxnTokenOptions {
  /** The gateway's keys: a resolver, or its JWKS document (`GET /.well-known/txn-token-jwks.json`). */
  readonly keys: KeyResolver | unknown;
  /** This upstream's audience (the route's `audience`): a token for another one is refused. */
  readonly audience: string;
  /** When set, the gateway's public URL the token's `iss` must equal. */
  readonly issuer?: string;
  /** Where `jti`s are consumed: a Txn-Token is single use within its lifetime. */
  readonly replay: ReplayCache;
  /** Epoch seconds; default the clock. */
  readonly now?: number;
  /** Allowed clock skew in seconds (default 30). */
  readonly clockTolerance?: number;
}

/**
 * Verifies a Txn-Token at an upstream: strict compact JWS, signature under the gateway's key (bound to its
 * `alg`), `typ: txntoken+jwt`, the claim set, times (`exp` at most 300 s after `iat`), this audience, the
 * issuer when given, and single use of its `jti`. Throws a `WarrantError` (`WARRANT_JWS_*`,
 * `WARRANT_KEY_UNKNOWN`, `WARRANT_TOKEN_*`, `WARRANT_CLAIM_*`, `WARRANT_AUDIENCE_MISMATCH`, and
 * `WARRANT_TOKEN_REPLAYED` for a second use); resolves the claims when everything holds.
 */
export async function verifyTxnToken(
  token: unknown,
  options: VerifyTxnTokenOptions,
): Promise<TxnTokenClaims> {
  const parsed = parseCompact(token);
  verifyParsed(parsed, resolverOf(options.keys));
  if (parsed.header['typ'] !== TXN_TOKEN_TYP)
    throw new TokenError('WARRANT_TOKEN_TYPE_MISMATCH', `expected typ ${TXN_TOKEN_TYP}`);
  const claims = txnTokenClaims(parsed.claims);
  const now = options.now ?? epochSeconds();
  checkTimes(claims, { now, clockTolerance: options.clockTolerance });
  if (claims.exp - claims.iat > MAX_TXN_TOKEN_LIFETIME_SECONDS)
    throw new TokenError('WARRANT_TOKEN_LIFETIME_EXCEEDED', 'a Txn-Token lives at most 300 s');
  if (claims.aud !== options.audience) throw new TokenError('WARRANT_AUDIENCE_MISMATCH');
  if (options.issuer !== undefined && claims.iss !== options.issuer)
    throw new TokenError('WARRANT_ISSUER_MISMATCH');
  const skew = options.clockTolerance ?? 30;
  const fresh = await options.replay.consume(`txn:${claims.jti}`, claims.exp + skew, claims.iat - skew);
  if (!fresh) throw new TokenError('WARRANT_TOKEN_REPLAYED', 'this Txn-Token was already used');
  return claims;
}

/** A `KeyResolver` from a resolver or a JWKS document (EdDSA and ES256 keys only). */
function resolverOf(keys: KeyResolver | unknown): KeyResolver {
  if (typeof keys === 'function') return keys as KeyResolver;
  return KeySet.fromJwks(keys).resolve;
}

const CLAIMS = new Set(['iss', 'aud', 'iat', 'exp', 'jti', 'txn', 'sub', 'scope', 'req_wl', 'tctx']);
const CONTEXT = new Set(['person_iss', 'actors', 'grants', 'warrant', 'chain', 'decision']);

function str(value: unknown, name: string, max = 2048): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw new TokenError(
      value === undefined ? 'WARRANT_CLAIM_MISSING' : 'WARRANT_CLAIM_INVALID',
      `claim ${name} must be a non-empty string`,
    );
  return value;
}

function seconds(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new TokenError(
      value === undefined ? 'WARRANT_CLAIM_MISSING' : 'WARRANT_CLAIM_INVALID',
      `claim ${name} must be integer epoch seconds`,
    );
  return value as number;
}

/** The closed claim set of a Txn-Token: every claim present and well-formed, nothing unknown. */
export function txnTokenClaims(c: Readonly<Record<string, unknown>>): TxnTokenClaims {
  for (const name of Object.keys(c))
    if (!CLAIMS.has(name))
      throw new TokenError('WARRANT_CLAIM_UNKNOWN', `unknown claim ${name.slice(0, 40)}`);
  const t = c['tctx'];
  if (typeof t !== 'object' || t === null || Array.isArray(t))
    throw new TokenError(t === undefined ? 'WARRANT_CLAIM_MISSING' : 'WARRANT_CLAIM_INVALID', 'claim tctx');
  const tctx = t as Record<string, unknown>;
  for (const name of Object.keys(tctx))
    if (!CONTEXT.has(name))
      throw new TokenError('WARRANT_CLAIM_UNKNOWN', `unknown tctx member ${name.slice(0, 40)}`);
  const actors = tctx['actors'];
  if (!Array.isArray(actors) || actors.length === 0 || actors.length > 16)
    throw new TokenError('WARRANT_CLAIM_INVALID', 'tctx.actors must list 1..16 agents');
  for (const a of actors) str(a, 'tctx.actors[]');
  const warrant = str(tctx['warrant'], 'tctx.warrant');
  if (!isThumbprintShape(warrant))
    throw new TokenError('WARRANT_CLAIM_INVALID', 'tctx.warrant is not a hash');
  return Object.freeze({
    iss: str(c['iss'], 'iss'),
    aud: str(c['aud'], 'aud'),
    iat: seconds(c['iat'], 'iat'),
    exp: seconds(c['exp'], 'exp'),
    jti: str(c['jti'], 'jti', 256),
    txn: str(c['txn'], 'txn'),
    sub: str(c['sub'], 'sub'),
    scope: typeof c['scope'] === 'string' ? c['scope'] : str(c['scope'], 'scope'),
    req_wl: str(c['req_wl'], 'req_wl'),
    tctx: Object.freeze({
      person_iss: str(tctx['person_iss'], 'tctx.person_iss'),
      actors: Object.freeze([...(actors as string[])]),
      grants: parseGrants(tctx['grants']),
      warrant,
      chain: str(tctx['chain'], 'tctx.chain'),
      decision: str(tctx['decision'], 'tctx.decision'),
    }),
  });
}
