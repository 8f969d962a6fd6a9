import type { PersonAssertionKind } from '../config/types.ts';
import { WarrantError } from '../core/errors.ts';
import { type Grant, parseGrants } from '../core/grants/index.ts';
import type { AgentRecord } from '../store/ports.ts';
import type { AssertionReplay } from './client-auth.ts';
import { OAuthError } from './oauth-error.ts';
import type { TrustedIssuers } from './trusted-issuers.ts';

/** Longest person `sub` a warrant carries (the warrant claim limit). */
const MAX_SUBJECT = 2048;
/** Skew allowed on an OpenID provider's clock for `auth_time`. */
const CLOCK_TOLERANCE = 30;

/** A person, as asserted to root a warrant for one agent. */
export interface Person {
  readonly sub: string;
  /** The issuer that authenticated the person (`sub_iss` of the warrant). */
  readonly issuer: string;
  readonly kind: PersonAssertionKind;
  /** ID-JAG only: the resources (RFC 8707) the identity provider granted the agent, when it named any. */
  readonly resources?: readonly string[];
  /** ID-JAG only: the scope the identity provider granted, when it named one. */
  readonly scope?: string;
  /** ID-JAG only: the grants the identity provider granted (`authorization_details` of type `warrant_grant`). */
  readonly grants?: readonly Grant[];
  /**
   * Spends the assertion: an ID-JAG's `jti` is single use, so this is called once everything else has been
   * checked, right before the warrant is issued. A second use is `invalid_grant` `WARRANT_ASSERTION_REPLAYED`.
   */
  consume(): Promise<void>;
}

/** What verifying a person's assertion uses of the STS (`Sts` is one). */
export interface PersonAssertionServices {
  /** This STS: the audience of an ID-JAG, and the `iss` a `may_act` may name. */
  readonly issuer: string;
  readonly clock: () => number;
  readonly trustedIssuers: Pick<TrustedIssuers, 'verify'>;
  /** Where ID-JAG `jti`s are spent. */
  readonly assertionReplay: AssertionReplay;
}

const grantError = (code: ConstructorParameters<typeof OAuthError>[1], description: string) =>
  new OAuthError('invalid_grant', code, description);

const strings = (value: unknown): string[] | undefined =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0)
      ? (value as string[])
      : undefined;

/**
 * Verifies a person's assertion and that it is addressed to `agent`, the agent that acts first (DESIGN §2):
 * - an OIDC ID token whose `aud` is the agent's client id at that issuer — or, when `aud` has several values,
 *   whose `azp` is (and is one of them); an `azp` naming another client is refused either way;
 * - an ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant) whose `aud` is exactly this STS and whose
 *   `client_id` is the agent, with a single-use `jti`.
 * Either way the issuer must be allowed to send that kind, the person's authentication (`auth_time`, else
 * `iat`) must be within the issuer's `maxAssertionAgeSeconds`, and a `may_act` must name the agent.
 */
export async function verifyPersonAssertion(
  sts: PersonAssertionServices,
  token: string,
  kind: PersonAssertionKind,
  agent: AgentRecord,
): Promise<Person> {
  const now = sts.clock();
  const verified = await sts.trustedIssuers.verify(token, kind, now);
  const claims = verified.claims;
  const issuer = verified.issuer.issuer;
  const sub = claims['sub'] as string;
  // The warrant's `sub` (and the policy's person id) must be a usable string, whatever the issuer signed.
  if (sub.length > MAX_SUBJECT)
    throw grantError(
      'WARRANT_SUBJECT_TOKEN_INVALID',
      `the assertion sub must be a string of 1..${MAX_SUBJECT} characters`,
    );

  let clientId: string | undefined;
  let idJag: IdJagBounds | undefined;
  if (kind === 'id_token') {
    clientId = agent.clientIds[issuer];
    if (clientId === undefined)
      throw grantError(
        'WARRANT_AGENT_CLIENT_ID_MISSING',
        'the acting agent has no client id at the ID token issuer',
      );
    checkIdTokenAudience(claims, clientId);
  } else {
    idJag = checkIdJag(sts, claims, agent);
  }
  checkMayAct(claims['may_act'], agent, sts.issuer, { issuer, clientId });
  checkAge(claims, verified.iat, verified.issuer.maxAssertionAgeSeconds, now);

  const exp = verified.exp;
  return {
    sub,
    issuer,
    kind,
    ...(idJag?.resources === undefined ? {} : { resources: idJag.resources }),
    ...(idJag?.scope === undefined ? {} : { scope: idJag.scope }),
    ...(idJag?.grants === undefined ? {} : { grants: idJag.grants }),
    async consume() {
      if (idJag === undefined) return;
      let first: boolean;
      try {
        first = await sts.assertionReplay.consume(
          'id_jag',
          `${issuer} ${idJag.jti}`,
          Math.ceil(exp) + CLOCK_TOLERANCE,
          // Usable from its iat (less the skew): a replay store that lost its memory since refuses it.
          verified.iat - CLOCK_TOLERANCE,
        );
      } catch (cause) {
        if (cause instanceof WarrantError && cause.code === 'WARRANT_REPLAY_STATE_LOST')
          throw grantError(
            'WARRANT_REPLAY_STATE_LOST',
            'the replay store lost its memory after this ID-JAG was issued; obtain a new one',
          );
        if (cause instanceof WarrantError && cause.code === 'WARRANT_HOT_STATE_UNAVAILABLE')
          throw new OAuthError(
            'temporarily_unavailable',
            cause.code,
            'the replay store is unavailable; retry',
            {
              cause,
              headers: { 'retry-after': '1' },
            },
          );
        if (cause instanceof WarrantError) throw cause;
        throw new OAuthError('server_error', 'WARRANT_STS_UNAVAILABLE', 'replay store unavailable', {
          cause,
        });
      }
      if (!first) throw grantError('WARRANT_ASSERTION_REPLAYED', 'the ID-JAG was already used');
    },
  };
}

/** OpenID Connect Core §3.1.3.7 items 3–5, with the agent's client id as the relying party's. */
function checkIdTokenAudience(claims: Readonly<Record<string, unknown>>, clientId: string): void {
  const auds = strings(claims['aud']);
  if (auds === undefined)
    throw grantError('WARRANT_ASSERTION_NOT_FOR_AGENT', 'the ID token has no usable aud');
  const azp = claims['azp'];
  if (azp !== undefined && (typeof azp !== 'string' || !auds.includes(azp)))
    throw grantError('WARRANT_ASSERTION_AZP_INVALID', 'the ID token azp is not one of its audiences');
  if (auds.length > 1 && azp === undefined)
    throw grantError('WARRANT_ASSERTION_AZP_INVALID', 'the ID token has several audiences and no azp');
  const addressee = (azp as string | undefined) ?? auds[0];
  if (addressee !== clientId)
    throw grantError(
      'WARRANT_ASSERTION_NOT_FOR_AGENT',
      "the ID token is not addressed to the acting agent's client id",
    );
}

interface IdJagBounds {
  readonly jti: string;
  readonly resources?: string[];
  readonly scope?: string;
  readonly grants?: Grant[];
}

/**
 * The ID-JAG processing rules (draft §4.4.1) with Warrant's agent as the client. What the identity provider
 * granted bounds the warrant: `resource`, `scope`, and `authorization_details` — which Warrant honours only as
 * `warrant_grant` entries; any other type is authority it cannot check, so the ID-JAG is refused (fail closed).
 */
function checkIdJag(
  sts: Pick<PersonAssertionServices, 'issuer'>,
  claims: Readonly<Record<string, unknown>>,
  agent: AgentRecord,
): IdJagBounds {
  const aud = claims['aud'];
  const audience =
    typeof aud === 'string' ? aud : Array.isArray(aud) && aud.length === 1 ? aud[0] : undefined;
  if (audience !== sts.issuer)
    throw grantError('WARRANT_AUDIENCE_MISMATCH', 'the ID-JAG aud is not (only) this STS');
  if (claims['client_id'] !== agent.id)
    throw grantError('WARRANT_ASSERTION_NOT_FOR_AGENT', 'the ID-JAG client_id is not the acting agent');
  const jti = claims['jti'];
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    throw grantError('WARRANT_SUBJECT_TOKEN_INVALID', 'the ID-JAG has no jti of 1..256 characters');
  let resources: string[] | undefined;
  if (claims['resource'] !== undefined) {
    resources = strings(claims['resource']);
    if (resources === undefined)
      throw grantError('WARRANT_SUBJECT_TOKEN_INVALID', 'the ID-JAG resource is not a URI or a list of URIs');
  }
  const scope = claims['scope'];
  if (scope !== undefined && (typeof scope !== 'string' || scope.length === 0))
    throw grantError('WARRANT_SUBJECT_TOKEN_INVALID', 'the ID-JAG scope is not a string');
  let grants: Grant[] | undefined;
  const details = claims['authorization_details'];
  if (details !== undefined) {
    if (
      !Array.isArray(details) ||
      details.length === 0 ||
      details.some(
        (d) => typeof d !== 'object' || d === null || (d as { type?: unknown }).type !== 'warrant_grant',
      )
    )
      throw grantError(
        'WARRANT_SUBJECT_TOKEN_INVALID',
        'the ID-JAG authorization_details are not warrant_grant entries',
      );
    try {
      grants = parseGrants(details.map(({ type: _t, ...grant }) => grant));
    } catch (cause) {
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_SUBJECT_TOKEN_INVALID',
        `the ID-JAG authorization_details are invalid: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  return {
    jti,
    ...(resources === undefined ? {} : { resources }),
    ...(scope === undefined ? {} : { scope: scope as string }),
    ...(grants === undefined ? {} : { grants }),
  };
}

/**
 * RFC 8693 §4.4: when the subject token says who may act for its subject, the exchanging agent must be that
 * party — named by its agent id (with `iss`, if given, this STS), or, in a person's assertion, by its client
 * id at the assertion's issuer (with that `iss`). Anything else, a malformed `may_act` included, is refused.
 */
export function checkMayAct(
  mayAct: unknown,
  agent: AgentRecord,
  stsIssuer: string,
  assertion: { issuer?: string | undefined; clientId?: string | undefined } = {},
): void {
  if (mayAct === undefined) return;
  if (typeof mayAct !== 'object' || mayAct === null || Array.isArray(mayAct))
    throw grantError('WARRANT_MAY_ACT_MISMATCH', 'may_act is not an object');
  const { sub, iss } = mayAct as Record<string, unknown>;
  if (typeof sub !== 'string' || (iss !== undefined && typeof iss !== 'string'))
    throw grantError('WARRANT_MAY_ACT_MISMATCH', 'may_act has no string sub');
  const byAgentId = sub === agent.id && (iss === undefined || iss === stsIssuer);
  const clientId = assertion.issuer === undefined ? undefined : agent.clientIds[assertion.issuer];
  const byClientId =
    iss !== undefined && iss === assertion.issuer && clientId !== undefined && sub === clientId;
  if (!byAgentId && !byClientId)
    throw grantError('WARRANT_MAY_ACT_MISMATCH', 'may_act names another party than the acting agent');
}

/** The person's authentication must be recent: `auth_time` (OpenID Connect) when present, else `iat`. */
function checkAge(claims: Readonly<Record<string, unknown>>, iat: number, maxAge: number, now: number): void {
  const authTime = claims['auth_time'];
  if (authTime !== undefined && (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime < 0))
    throw grantError('WARRANT_SUBJECT_TOKEN_INVALID', 'auth_time is not a NumericDate');
  const at = (authTime as number | undefined) ?? iat;
  if (at > now + CLOCK_TOLERANCE)
    throw grantError('WARRANT_SUBJECT_TOKEN_INVALID', 'auth_time is in the future');
  if (now - at > maxAge)
    throw grantError(
      'WARRANT_ASSERTION_TOO_OLD',
      `the person authenticated more than ${maxAge}s ago (${authTime === undefined ? 'iat' : 'auth_time'})`,
    );
}
