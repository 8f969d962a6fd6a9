import { randomUUID } from 'node:crypto';
import { createDpopProof } from '../core/dpop/index.ts';
import type { Grant } from '../core/grants/index.ts';
import type { SigningKey } from '../core/jose/jwk.ts';
import { signCompact } from '../core/jose/jws.ts';
import { CLIENT_ASSERTION_TYPE, GRANT_TYPE, TOKEN_TYPE } from '../core/tokens/token-types.ts';

/**
 * The RFC 8693 token type identifiers an agent passes as `subjectTokenType` (`idToken`, `idJag` for a root;
 * `warrant` for a hop): the core's {@link TOKEN_TYPE}.
 */
export const TOKEN_TYPES = TOKEN_TYPE;

/** An OAuth error answered by the STS, with its stable Warrant code. */
export class StsRequestError extends Error {
  override name = 'StsRequestError';
  readonly status: number;
  readonly error: string;
  readonly code: string | undefined;
  constructor(status: number, body: { error?: string; error_description?: string; code?: string }) {
    super(`${body.error ?? 'error'}: ${body.error_description ?? `HTTP ${status}`}`);
    this.status = status;
    this.error = body.error ?? 'unknown';
    this.code = body.code;
  }
}

export interface AgentClientOptions {
  /** The STS issuer URL (its endpoints hang below it). */
  readonly issuer: string;
  /** The agent's SPIFFE ID, its client id at the STS. */
  readonly agentId: string;
  /** The agent's private key: signs client assertions and DPoP proofs. */
  readonly key: SigningKey;
}

export interface ExchangeRequest {
  readonly subjectToken: string;
  readonly subjectTokenType: string;
  readonly audience: string;
  readonly grants?: readonly Grant[];
  readonly scope?: string;
  readonly task?: string;
  readonly delegateTo?: readonly string[];
  readonly requestedLifetime?: number;
  /** Extra form parameters (tests of bad input). */
  readonly extra?: Readonly<Record<string, string>>;
}

export interface TokenResult {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly issued_token_type?: string;
  readonly scope?: string;
}

/**
 * The agent side of the STS: `private_key_jwt` client assertions, DPoP proofs with server nonces
 * (one retry on `use_dpop_nonce`), identity tokens and RFC 8693 exchanges.
 */
export class AgentClient {
  readonly issuer: string;
  readonly agentId: string;
  readonly key: SigningKey;
  #nonce: string | undefined;

  constructor(options: AgentClientOptions) {
    this.issuer = options.issuer.replace(/\/+$/, '');
    this.agentId = options.agentId;
    this.key = options.key;
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/token`;
  }

  /** A fresh single-use RFC 7523 client assertion for this STS (60 s). */
  clientAssertion(now = Math.floor(Date.now() / 1000)): string {
    return signCompact(
      { typ: 'JWT' },
      { iss: this.agentId, sub: this.agentId, aud: this.issuer, jti: randomUUID(), iat: now, exp: now + 60 },
      this.key,
    );
  }

  dpopProof(htm: string, htu: string, accessToken?: string): string {
    return createDpopProof({
      key: this.key,
      htm,
      htu,
      ...(accessToken === undefined ? {} : { accessToken }),
      ...(this.#nonce === undefined ? {} : { nonce: this.#nonce }),
    });
  }

  /** POSTs a form to an STS endpoint with client authentication and (optionally) DPoP. */
  async post(
    path: string,
    params: Record<string, string>,
    options: { dpop?: boolean; auth?: boolean } = {},
  ): Promise<Response> {
    const url = `${this.issuer}${path}`;
    for (let attempt = 0; ; attempt++) {
      const body = new URLSearchParams(params);
      if (options.auth !== false) {
        body.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
        body.set('client_assertion', this.clientAssertion());
      }
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (options.dpop) headers['dpop'] = this.dpopProof('POST', url);
      const response = await fetch(url, { method: 'POST', headers, body });
      const nonce = response.headers.get('dpop-nonce');
      if (nonce) this.#nonce = nonce;
      if (response.status === 400 && attempt === 0 && options.dpop && nonce) {
        const copy = response.clone();
        const error = ((await copy.json()) as { error?: string }).error;
        if (error === 'use_dpop_nonce') continue;
      }
      return response;
    }
  }

  async #token(params: Record<string, string>, dpop: boolean): Promise<TokenResult> {
    const response = await this.post('/token', params, { dpop });
    const body = (await response.json()) as TokenResult & { error?: string };
    if (!response.ok) throw new StsRequestError(response.status, body);
    return body;
  }

  /** The agent's identity token (`wi+jwt`), bound to its key. */
  identity(): Promise<TokenResult> {
    return this.#token({ grant_type: GRANT_TYPE.clientCredentials }, true);
  }

  /**
   * RFC 8693 exchange: a person's assertion addressed to this agent — an ID token for its client id at the
   * issuer, or an ID-JAG for it — (root), or a warrant addressed to this agent (hop).
   */
  exchange(request: ExchangeRequest): Promise<TokenResult> {
    const params: Record<string, string> = {
      grant_type: GRANT_TYPE.tokenExchange,
      subject_token: request.subjectToken,
      subject_token_type: request.subjectTokenType,
      audience: request.audience,
      requested_token_type: TOKEN_TYPES.warrant,
    };
    if (request.grants)
      params['authorization_details'] = JSON.stringify(
        request.grants.map((g) => ({ type: 'warrant_grant', ...g })),
      );
    if (request.scope) params['scope'] = request.scope;
    if (request.task) params['task'] = request.task;
    if (request.delegateTo) params['delegate_to'] = request.delegateTo.join(' ');
    if (request.requestedLifetime !== undefined)
      params['requested_lifetime'] = String(request.requestedLifetime);
    return this.#token({ ...params, ...request.extra }, true);
  }
}
