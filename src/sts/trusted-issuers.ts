import type { PersonAssertionKind, TrustedIssuer } from '../config/types.ts';
import { WarrantError } from '../core/errors.ts';
import { type ParsedJws, parseCompact, verifyParsedExternal } from '../core/jose/jws.ts';
import { ID_JAG_TYP } from '../core/tokens/token-types.ts';
import { checkNumericDates } from '../core/tokens/verify-token.ts';
import type { IssuerRecord, IssuerStore } from '../store/ports.ts';
import { IssuerKeys } from './issuer-keys.ts';
import { OAuthError } from './oauth-error.ts';

/** What a foreign JWT is presented as: a person's assertion, or a workload's identity (jwt-bearer). */
export type ForeignTokenKind = PersonAssertionKind | 'workload';

export { ID_JAG_TYP };

/** Skew allowed on other parties' clocks (seconds), as for Warrant's own tokens. */
const CLOCK_TOLERANCE = 30;

/** Each kind's acceptable header `typ` values, compared case-insensitively (RFC 7515 §4.1.9); `''` = absent. */
const TYPES: Readonly<Record<ForeignTokenKind, readonly string[]>> = {
  id_token: ['', 'jwt'],
  id_jag: [ID_JAG_TYP],
  workload: ['', 'jwt', 'jose'],
};

/** A trusted issuer with every default applied. */
export interface ResolvedIssuer {
  readonly issuer: string;
  readonly kind: TrustedIssuer['kind'];
  readonly audience: string | undefined;
  readonly mapping: TrustedIssuer['mapping'] | undefined;
  readonly assertions: readonly PersonAssertionKind[];
  readonly maxAssertionAgeSeconds: number;
}

export interface ExternalToken {
  readonly issuer: ResolvedIssuer;
  readonly kind: ForeignTokenKind;
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  /** `iat` and `exp`, checked against the clock. */
  readonly iat: number;
  readonly exp: number;
}

const DEFAULT_MAX_ASSERTION_AGE = 3600;

const invalid = (description: string, cause?: unknown) =>
  new OAuthError(
    'invalid_grant',
    'WARRANT_SUBJECT_TOKEN_INVALID',
    description,
    cause === undefined ? {} : { cause },
  );

function resolve(i: {
  issuer: string;
  kind: TrustedIssuer['kind'];
  audience?: string | null | undefined;
  mapping?: unknown;
  assertions?: readonly PersonAssertionKind[] | null | undefined;
  maxAssertionAgeSeconds?: number | null | undefined;
}): ResolvedIssuer {
  return {
    issuer: i.issuer,
    kind: i.kind,
    audience: i.audience ?? undefined,
    mapping: (i.mapping ?? undefined) as TrustedIssuer['mapping'] | undefined,
    assertions: i.assertions ?? (i.kind === 'oidc' ? ['id_token'] : []),
    maxAssertionAgeSeconds: i.maxAssertionAgeSeconds ?? DEFAULT_MAX_ASSERTION_AGE,
  };
}

/**
 * The issuers Warrant trusts for persons (OIDC ID tokens, ID-JAGs) and workloads (Kubernetes service-account
 * tokens, SPIFFE JWT-SVIDs): from the configuration file and from the admin API. Every token goes through
 * the one strict path Warrant's own tokens take — `parseCompact` (canonical base64url, duplicate-free JSON),
 * signature by a key from the issuer's configured JWKS (never from a key named in the token) under the
 * external algorithm allowlist, the kind's explicit `typ`, and the shared clock rules (`exp`, `nbf`, no `iat`
 * in the future beyond 30 s). Binding the token to its audience is the caller's part.
 */
export class TrustedIssuers {
  readonly #configured: Map<string, TrustedIssuer>;
  readonly #store: IssuerStore | undefined;
  readonly #keys = new Map<string, { key: string; keys: IssuerKeys }>();

  constructor(configured: readonly TrustedIssuer[], store?: IssuerStore) {
    this.#configured = new Map(configured.map((i) => [i.issuer, i]));
    this.#store = store;
  }

  async #find(issuer: string): Promise<{ resolved: ResolvedIssuer; source: KeySource } | undefined> {
    const configured = this.#configured.get(issuer);
    if (configured) {
      const source: KeySource = configured.jwksUri
        ? { uri: configured.jwksUri }
        : configured.jwksFile
          ? { file: configured.jwksFile }
          : {};
      return { resolved: resolve(configured), source };
    }
    const stored: IssuerRecord | null = (await this.#store?.get(issuer)) ?? null;
    if (stored === null) return undefined;
    const source: KeySource = stored.jwksUri
      ? { uri: stored.jwksUri }
      : stored.jwks
        ? { jwks: stored.jwks }
        : {};
    return { resolved: resolve(stored), source };
  }

  #keysOf(issuer: string, source: KeySource): IssuerKeys {
    // Stored issuers can be replaced at runtime: the cache is keyed by where the keys come from too.
    const key = JSON.stringify(source);
    const cached = this.#keys.get(issuer);
    if (cached?.key === key) return cached.keys;
    let keys: IssuerKeys;
    try {
      if (source.uri !== undefined) keys = IssuerKeys.remote(source.uri);
      else if (source.file !== undefined) keys = IssuerKeys.file(source.file);
      else if (source.jwks !== undefined) keys = IssuerKeys.fixed(source.jwks);
      else throw new TypeError('no keys configured');
    } catch (cause) {
      throw new OAuthError(
        'server_error',
        'WARRANT_ISSUER_UNTRUSTED',
        'the trusted issuer has no usable keys',
        {
          cause,
        },
      );
    }
    this.#keys.set(issuer, { key, keys });
    return keys;
  }

  /**
   * Verifies `token` as a `kind` from a trusted issuer allowed to send it. Failures are `invalid_grant`:
   * `WARRANT_SUBJECT_TOKEN_INVALID` (not strict compact JWS, bad signature, times, claims),
   * `WARRANT_ISSUER_UNTRUSTED`, `WARRANT_ASSERTION_KIND_NOT_ALLOWED`, `WARRANT_TOKEN_TYPE_MISMATCH`.
   */
  async verify(token: string, kind: ForeignTokenKind, now: number): Promise<ExternalToken> {
    let parsed: ParsedJws;
    try {
      parsed = parseCompact(token, { algorithms: 'external' });
    } catch (cause) {
      throw invalid(
        `the token is not a strict compact JWS: ${cause instanceof WarrantError ? cause.message : 'unreadable'}`,
        cause,
      );
    }
    const iss = parsed.claims['iss'];
    if (typeof iss !== 'string' || iss.length === 0) throw invalid('the token has no issuer');
    const found = await this.#find(iss);
    if (found === undefined)
      throw new OAuthError('invalid_grant', 'WARRANT_ISSUER_UNTRUSTED', 'the token issuer is not trusted');
    const issuer = found.resolved;
    if (kind !== 'workload') {
      if (issuer.kind !== 'oidc')
        throw new OAuthError(
          'invalid_grant',
          'WARRANT_ISSUER_UNTRUSTED',
          "the token issuer is not trusted for persons' assertions",
        );
      if (!issuer.assertions.includes(kind))
        throw new OAuthError(
          'invalid_grant',
          'WARRANT_ASSERTION_KIND_NOT_ALLOWED',
          `the issuer is not configured to send ${kind === 'id_jag' ? 'ID-JAGs' : 'ID tokens'}`,
        );
    }
    const keys = this.#keysOf(issuer.issuer, found.source);
    const kid = parsed.header['kid'] as string | undefined;
    let candidates: Awaited<ReturnType<IssuerKeys['keys']>>;
    try {
      candidates = await keys.keys(kid);
    } catch (cause) {
      throw invalid("the issuer's keys could not be fetched", cause);
    }
    try {
      verifyParsedExternal(parsed, candidates);
    } catch (cause) {
      throw invalid('the token does not verify', cause);
    }
    const typ = parsed.header['typ'];
    if (!TYPES[kind].includes(typeof typ === 'string' ? typ.toLowerCase() : '')) {
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_TOKEN_TYPE_MISMATCH',
        `the token typ is not one of a ${kind === 'id_jag' ? 'ID-JAG' : kind === 'id_token' ? 'person ID token' : 'workload token'}`,
      );
    }
    let dates: { iat: number | undefined; exp: number | undefined };
    try {
      dates = checkNumericDates(parsed.claims, ['iat', 'exp'], { now, clockTolerance: CLOCK_TOLERANCE });
    } catch (cause) {
      const code = (cause as WarrantError).code;
      throw invalid(
        code === 'WARRANT_TOKEN_EXPIRED'
          ? 'the token is expired'
          : code === 'WARRANT_TOKEN_NOT_YET_VALID'
            ? `the token is not yet valid: ${(cause as Error).message}`
            : `the token times are invalid: ${(cause as Error).message}`,
        cause,
      );
    }
    const sub = parsed.claims['sub'];
    if (typeof sub !== 'string' || sub.length === 0) throw invalid('the token has no sub');
    if (kind === 'workload') {
      const aud = parsed.claims['aud'];
      const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
      if (issuer.audience === undefined || !auds.includes(issuer.audience))
        throw invalid('the token is not for this audience');
    }
    return {
      issuer,
      kind,
      header: parsed.header,
      claims: parsed.claims,
      iat: dates.iat!,
      exp: dates.exp!,
    };
  }
}

interface KeySource {
  readonly uri?: string;
  readonly file?: string;
  readonly jwks?: unknown;
}

/** Applies an issuer's mapping rule to a verified workload token: `${name}` style capture into the agent id. */
export function mapToAgent(token: ExternalToken): string {
  const mapping = token.issuer.mapping;
  if (!mapping)
    throw new OAuthError('invalid_grant', 'WARRANT_ISSUER_UNTRUSTED', 'the issuer has no agent mapping rule');
  const value = token.claims[mapping.claim];
  if (typeof value !== 'string')
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_SUBJECT_TOKEN_INVALID',
      `the token has no ${mapping.claim} claim`,
    );
  let groups: Record<string, string> = {};
  if (mapping.pattern !== undefined) {
    const match = new RegExp(mapping.pattern).exec(value);
    if (!match)
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_SUBJECT_TOKEN_INVALID',
        'the workload does not match the mapping rule',
      );
    groups = { ...match.groups, 0: match[0] } as Record<string, string>;
  }
  return mapping.agent.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const part = name === 'value' ? value : groups[name];
    if (part === undefined || !/^[A-Za-z0-9._-]+$/.test(part)) {
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_SUBJECT_TOKEN_INVALID',
        'the mapping rule yields no valid agent id',
      );
    }
    return part;
  });
}
