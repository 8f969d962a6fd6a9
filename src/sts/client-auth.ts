import { WarrantError } from '../core/errors.ts';
import { importPublicJwk, type VerificationKey } from '../core/jose/jwk.ts';
import { parseCompact, verifyParsedAsync } from '../core/jose/jws.ts';
import { CLIENT_ASSERTION_TYP, CLIENT_ASSERTION_TYPE } from '../core/tokens/token-types.ts';
import { checkNumericDates } from '../core/tokens/verify-token.ts';
import type { AgentRecord, AgentStore } from '../store/ports.ts';
import { OAuthError } from './oauth-error.ts';

/** Longest lifetime accepted for a client assertion (seconds). */
const MAX_ASSERTION_LIFETIME = 300;
/**
 * How far in the future a client assertion's `iat` may be (seconds): the DPoP proof's tolerance, since every
 * token request carries one made on the same clock. It also bounds how long after a replay-cache memory
 * loss fresh assertions are refused.
 */
const ASSERTION_IAT_SKEW = 5;

const fail = (code: ConstructorParameters<typeof OAuthError>[1], description: string, cause?: unknown) =>
  new OAuthError('invalid_client', code, description, cause === undefined ? {} : { cause });

/** Imported agent keys by thumbprint: importing a JWK costs more than a signature check. */
const keyCache = new Map<string, VerificationKey>();
function agentKey(jwk: Record<string, unknown>, jkt: string): VerificationKey {
  let key = keyCache.get(jkt);
  if (key === undefined) {
    key = importPublicJwk(jwk);
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(jkt, key);
  }
  return key;
}

/** The agent's keys accepted at `now`: the current key and previous keys still in their overlap. */
export function agentKeys(agent: AgentRecord, now: number): VerificationKey[] {
  const keys = [agentKey(agent.publicJwk, agent.jkt)];
  for (const p of agent.previousKeys) if (p.until > now) keys.push(agentKey(p.jwk, p.jkt));
  return keys;
}

/**
 * Where single-use assertion identifiers are remembered: a durable `ReplayStore`, or the replay cache. The
 * moment an identifier became usable (`validFrom`, epoch seconds) is required: a cache that lost its memory
 * (a Redis restart) refuses identifiers usable before the loss.
 */
export interface AssertionReplay {
  consume(namespace: string, id: string, expiresAt: number, validFrom: number): Promise<boolean>;
}

export interface ClientAuthContext {
  readonly agents: Pick<AgentStore, 'get'>;
  readonly replay: AssertionReplay;
  /** Audiences a client assertion may name: the issuer and the endpoint URLs. */
  readonly audiences: readonly string[];
  readonly now: number;
}

/**
 * RFC 7523 `private_key_jwt` client authentication: the assertion is signed by the agent's registered key
 * (selected by thumbprint `kid`, or the only key), `iss` = `sub` = the agent id, `aud` names this server,
 * lives at most five minutes, and its `jti` is single use. Disabled or unknown agents fail.
 */
export async function authenticateClient(
  params: Map<string, string>,
  ctx: ClientAuthContext,
): Promise<AgentRecord> {
  const type = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  if (type === undefined || assertion === undefined) {
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client authentication with private_key_jwt is required');
  }
  if (type !== CLIENT_ASSERTION_TYPE)
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'unsupported client_assertion_type');
  let parsed: ReturnType<typeof parseCompact>;
  try {
    parsed = parseCompact(assertion);
  } catch (cause) {
    throw fail(
      'WARRANT_CLIENT_AUTH_FAILED',
      `client assertion is malformed: ${(cause as Error).message}`,
      cause,
    );
  }
  const claims = parsed.claims;
  const iss = claims['iss'];
  if (typeof iss !== 'string' || claims['sub'] !== iss) {
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion iss and sub must both be the agent id');
  }
  const clientId = params.get('client_id');
  if (clientId !== undefined && clientId !== iss)
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client_id does not match the assertion');
  const agent = await ctx.agents.get(iss);
  // Unknown clients and bad signatures get the same answer, so agent ids cannot be probed without a key.
  if (agent === null)
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion signature is not valid for this agent');
  const keys = agentKeys(agent, ctx.now);
  try {
    // On libuv's thread pool: the event loop parses other requests meanwhile.
    await verifyParsedAsync(
      parsed,
      (kid) =>
        kid === undefined ? (keys.length === 1 ? keys[0] : undefined) : keys.find((k) => k.kid === kid),
      // Assertions come from external signers (WebCrypto, jose) that do not normalise ECDSA s; each is single use.
      { canonical: false },
    );
  } catch (cause) {
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion signature is not valid for this agent', cause);
  }
  // Only a holder of the agent key learns that the agent is disabled.
  if (agent.status !== 'active') throw fail('WARRANT_AGENT_DISABLED', 'the agent is disabled');
  const typ = parsed.header['typ'];
  if (typ !== undefined && typ !== 'JWT' && typ !== CLIENT_ASSERTION_TYP) {
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion typ is not acceptable');
  }
  const aud = claims['aud'];
  const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!auds.some((a) => typeof a === 'string' && ctx.audiences.includes(a))) {
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion aud does not name this server');
  }
  // The clock rules every JWT obeys (exp required, nbf, no iat in the future), then the assertion's own bound.
  let exp: number;
  try {
    exp = checkNumericDates(claims, ['exp'], { now: ctx.now }).exp!;
  } catch (cause) {
    const code = (cause as WarrantError).code;
    throw fail(
      'WARRANT_CLIENT_AUTH_FAILED',
      code === 'WARRANT_TOKEN_EXPIRED'
        ? 'client assertion is expired'
        : code === 'WARRANT_TOKEN_NOT_YET_VALID'
          ? `client assertion is not yet valid (${(cause as Error).message})`
          : `client assertion times are invalid (${(cause as Error).message})`,
      cause,
    );
  }
  if (exp > ctx.now + MAX_ASSERTION_LIFETIME)
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion lives too long');
  const jti = claims['jti'];
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion jti is missing');
  const iat = claims['iat'];
  if (typeof iat === 'number' && iat > ctx.now + ASSERTION_IAT_SKEW)
    throw fail('WARRANT_CLIENT_AUTH_FAILED', 'client assertion is issued in the future');
  // Usable from (at the earliest) exp − the longest lifetime, and not before iat − the skew allowed for it:
  // a replay cache that lost its memory after that moment refuses the assertion.
  const validFrom = Math.max(
    exp - MAX_ASSERTION_LIFETIME,
    typeof iat === 'number' ? iat - ASSERTION_IAT_SKEW : Number.NEGATIVE_INFINITY,
  );
  let first: boolean;
  try {
    first = await ctx.replay.consume('client_assertion', `${iss} ${jti}`, Math.ceil(exp) + 30, validFrom);
  } catch (cause) {
    if (cause instanceof WarrantError && cause.code === 'WARRANT_REPLAY_STATE_LOST')
      throw fail(
        'WARRANT_REPLAY_STATE_LOST',
        'the replay store lost its memory after this client assertion became usable; send a new one',
        cause,
      );
    if (cause instanceof WarrantError && cause.code === 'WARRANT_HOT_STATE_UNAVAILABLE')
      throw new OAuthError('temporarily_unavailable', cause.code, 'the replay store is unavailable; retry', {
        cause,
        headers: { 'retry-after': '1' },
      });
    if (cause instanceof WarrantError) throw cause;
    throw new OAuthError('server_error', 'WARRANT_STS_UNAVAILABLE', 'replay store unavailable', { cause });
  }
  if (!first) throw fail('WARRANT_ASSERTION_REPLAYED', 'client assertion was already used');
  return agent;
}
