import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type { TrustedIssuer } from '../config/types.ts';
import type { IssuerRecord, IssuerStore } from '../store/ports.ts';
import { OAuthError } from './oauth-error.ts';

/** Algorithms accepted from external issuers (persons' OpenID providers, Kubernetes, SPIFFE). */
export const EXTERNAL_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;

type Jwks = ReturnType<typeof createRemoteJWKSet> | ReturnType<typeof createLocalJWKSet>;

export interface ExternalToken {
  readonly issuer: string;
  readonly kind: TrustedIssuer['kind'];
  readonly claims: JWTPayload;
  readonly mapping?: TrustedIssuer['mapping'];
}

/**
 * The issuers Warrant trusts for persons (OIDC ID tokens) and workloads (Kubernetes service-account
 * tokens, SPIFFE JWT-SVIDs): from the configuration file and from the admin API. A token is accepted only
 * from one of them, for its configured audience, signed by a key from its configured JWKS (never from a
 * key named in the token).
 */
export class TrustedIssuers {
  readonly #configured: Map<string, TrustedIssuer>;
  readonly #store: IssuerStore | undefined;
  readonly #jwks = new Map<string, Jwks>();

  constructor(configured: readonly TrustedIssuer[], store?: IssuerStore) {
    this.#configured = new Map(configured.map((i) => [i.issuer, i]));
    this.#store = store;
  }

  async #find(issuer: string): Promise<TrustedIssuer | undefined> {
    const configured = this.#configured.get(issuer);
    if (configured) return configured;
    const stored: IssuerRecord | null = (await this.#store?.get(issuer)) ?? null;
    if (stored === null) return undefined;
    return {
      issuer: stored.issuer,
      kind: stored.kind,
      audience: stored.audience,
      ...(stored.jwksUri ? { jwksUri: stored.jwksUri } : {}),
      ...(stored.mapping
        ? { mapping: stored.mapping as unknown as NonNullable<TrustedIssuer['mapping']> }
        : {}),
      ...(stored.jwks ? { jwks: stored.jwks } : {}),
    } as TrustedIssuer;
  }

  #keys(issuer: TrustedIssuer & { jwks?: unknown }): Jwks {
    let jwks = this.#jwks.get(issuer.issuer);
    if (jwks) return jwks;
    if (issuer.jwksUri)
      jwks = createRemoteJWKSet(new URL(issuer.jwksUri), {
        cooldownDuration: 30_000,
        timeoutDuration: 5_000,
      });
    else if (issuer.jwksFile) jwks = createLocalJWKSet(JSON.parse(readFileSync(issuer.jwksFile, 'utf8')));
    else if (issuer.jwks) jwks = createLocalJWKSet(issuer.jwks as Parameters<typeof createLocalJWKSet>[0]);
    else
      throw new OAuthError(
        'server_error',
        'WARRANT_ISSUER_UNTRUSTED',
        'the trusted issuer has no keys configured',
      );
    this.#jwks.set(issuer.issuer, jwks);
    return jwks;
  }

  /** Verifies `token` from a trusted issuer of one of `kinds`; every failure is `invalid_grant`. */
  async verify(token: string, kinds: readonly TrustedIssuer['kind'][], now: number): Promise<ExternalToken> {
    let unverifiedIssuer: unknown;
    try {
      const payload = token.split('.')[1] ?? '';
      unverifiedIssuer = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))?.iss;
    } catch {
      unverifiedIssuer = undefined;
    }
    if (typeof unverifiedIssuer !== 'string') {
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_SUBJECT_TOKEN_INVALID',
        'the token is not a JWT with an issuer',
      );
    }
    const issuer = await this.#find(unverifiedIssuer);
    if (issuer === undefined || !kinds.includes(issuer.kind)) {
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_ISSUER_UNTRUSTED',
        'the token issuer is not trusted for this grant',
      );
    }
    try {
      const { payload } = await jwtVerify(token, this.#keys(issuer), {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: [...EXTERNAL_ALGORITHMS],
        currentDate: new Date(now * 1000),
        clockTolerance: 30,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      return {
        issuer: issuer.issuer,
        kind: issuer.kind,
        claims: payload,
        ...(issuer.mapping ? { mapping: issuer.mapping } : {}),
      };
    } catch (cause) {
      if (cause instanceof OAuthError) throw cause;
      const reason =
        cause instanceof joseErrors.JWTClaimValidationFailed && cause.claim === 'aud'
          ? 'the token is not for this audience'
          : cause instanceof joseErrors.JWTExpired
            ? 'the token is expired'
            : 'the token does not verify';
      throw new OAuthError('invalid_grant', 'WARRANT_SUBJECT_TOKEN_INVALID', reason, { cause });
    }
  }
}

/** Applies an issuer's mapping rule to a verified workload token: `${name}` style capture into the agent id. */
export function mapToAgent(token: ExternalToken): string {
  const mapping = token.mapping;
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
