/**
 * `warrant dev`'s identity provider for persons (`sts.devUserIssuer`): a minimal OpenID Connect provider
 * under `<sts>/dev-idp` — discovery, JWKS, an authorization endpoint (authorization code with PKCE S256
 * only) whose sign-in page lets whoever runs `warrant dev` say which person they are (no password: this
 * is a development setup; `warrant serve` serves it only when `sts.devUserIssuer.enabled` is set), and a
 * token endpoint answering ID tokens (ES256). The STS trusts it as an OIDC issuer for persons' assertions
 * and approvals (audience `warrant-dev`); the demo signs alice in through it; the dashboard is its client
 * `warrant-dashboard` with one redirect URI.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { generateSigningKey, type SigningKey } from '../core/jose/jwk.ts';
import { signCompact } from '../core/jose/jws.ts';
import { ID_JAG_TYP } from '../core/tokens/token-types.ts';
import type { Store } from '../store/ports.ts';
import { MAX_FORM_BYTES, parseForm } from '../sts/http/form.ts';
import { readBody, sendJson } from '../sts/http/respond.ts';
import { OAuthError } from '../sts/oauth-error.ts';
import { securityHeaders } from './security-headers.ts';

/** The audience of ID tokens persons present to Warrant itself (approvals), as the demo always had it. */
export const DEV_APPROVER_AUDIENCE = 'warrant-dev';
/** The dashboard's client id at the dev provider. */
export const DEV_DASHBOARD_CLIENT = 'warrant-dashboard';
const PREFIX = '/dev-idp';
const CODE_TTL = 60;

interface Pending {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly nonce: string | undefined;
  readonly sub: string;
  readonly expires: number;
}

export interface DevIdp {
  readonly issuer: string;
  /** A fresh ID token for `sub` addressed to `aud` (the demo's people sign in with it). */
  idToken(sub: string, aud: string, extra?: Record<string, unknown>): string;
  /**
   * A fresh ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant) for `sub`, addressed to the STS
   * `audience` for the agent `clientId` (its SPIFFE ID): what `warrant dev login` prints.
   */
  idJag(sub: string, clientId: string, audience: string): string;
  /** Registers a client (its redirect URIs); the dashboard's is registered at start. */
  registerClient(clientId: string, redirectUris: readonly string[]): void;
  /** Answers the provider's paths; `false` for any other. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

const bad = (description: string) =>
  new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', description);

const html = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** Starts the dev provider at `<base>/dev-idp` and makes the STS's store trust it for persons. */
export async function startDevIdp(base: string, store: Store, now: () => number): Promise<DevIdp> {
  const issuer = `${base}${PREFIX}`;
  const key: SigningKey = generateSigningKey('ES256');
  const clients = new Map<string, readonly string[]>();
  const codes = new Map<string, Pending>();
  await store.issuers.put({
    issuer,
    kind: 'oidc',
    audience: DEV_APPROVER_AUDIENCE,
    jwksUri: null,
    jwks: { keys: [{ ...key.jwk }] },
    mapping: null,
    assertions: ['id_token', 'id_jag'],
    maxAssertionAgeSeconds: null,
  });
  const idToken = (sub: string, aud: string, extra: Record<string, unknown> = {}) => {
    const t = now();
    return signCompact(
      { typ: 'JWT' },
      { iss: issuer, sub, email: sub, aud, jti: randomUUID(), iat: t, exp: t + 300, auth_time: t, ...extra },
      key,
    );
  };
  /** The authorization request's parameters, checked (client, exact redirect URI, PKCE S256). */
  const request = (params: URLSearchParams | Map<string, string>) => {
    const get = (name: string) => params.get(name) ?? undefined;
    const clientId = get('client_id');
    const redirectUri = get('redirect_uri');
    const uris = clientId === undefined ? undefined : clients.get(clientId);
    if (
      clientId === undefined ||
      uris === undefined ||
      redirectUri === undefined ||
      !uris.includes(redirectUri)
    )
      throw bad('unknown client_id or redirect_uri');
    if (get('response_type') !== 'code') throw bad('response_type must be code');
    const challenge = get('code_challenge');
    if (get('code_challenge_method') !== 'S256' || challenge === undefined || !/^[\w-]{43}$/.test(challenge))
      throw bad('PKCE with code_challenge_method S256 is required');
    return { clientId, redirectUri, challenge, state: get('state'), nonce: get('nonce') };
  };

  const idJag = (sub: string, clientId: string, audience: string) => {
    const t = now();
    return signCompact(
      { typ: ID_JAG_TYP },
      {
        iss: issuer,
        sub,
        email: sub,
        aud: audience,
        client_id: clientId,
        jti: randomUUID(),
        iat: t,
        exp: t + 300,
      },
      key,
    );
  };

  return {
    issuer,
    idToken,
    idJag,
    registerClient(clientId, redirectUris) {
      clients.set(clientId, [...redirectUris]);
    },
    async handle(req, res, url) {
      if (url.pathname !== PREFIX && !url.pathname.startsWith(`${PREFIX}/`)) return false;
      const path = url.pathname.slice(PREFIX.length);
      if (path === '/.well-known/openid-configuration' && req.method === 'GET') {
        sendJson(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['ES256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none'],
          scopes_supported: ['openid', 'email'],
        });
        return true;
      }
      if (path === '/jwks' && req.method === 'GET') {
        sendJson(res, 200, { keys: [{ ...key.jwk, use: 'sig', alg: 'ES256', kid: key.kid }] });
        return true;
      }
      if (path === '/authorize' && req.method === 'GET') {
        const r = request(url.searchParams);
        const hidden = [...url.searchParams]
          .filter(([k]) => k !== 'login')
          .map(([k, v]) => `<input type="hidden" name="${html(k)}" value="${html(v)}">`)
          .join('');
        const body =
          '<!doctype html><html lang="en"><meta charset="utf-8"><title>Dev sign-in</title>' +
          '<main><h1>Warrant dev identity provider</h1>' +
          `<p>Signing in to <b>${html(r.clientId)}</b>. This provider is for <code>warrant dev</code> only: ` +
          'say which person you are (no password).</p>' +
          `<form method="post" action="${PREFIX}/authorize">${hidden}` +
          '<label for="login">Person (email)</label> ' +
          '<input id="login" name="login" value="alice@example.org" required maxlength="200" autocomplete="username"> ' +
          '<button type="submit">Sign in</button></form></main></html>';
        res.writeHead(200, {
          ...securityHeaders(),
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(body);
        return true;
      }
      if (path === '/authorize' && req.method === 'POST') {
        const params = parseForm(await readBody(req, MAX_FORM_BYTES), req.headers['content-type']);
        const r = request(params);
        const login = params.get('login')?.trim() ?? '';
        if (login.length === 0 || login.length > 200) throw bad('login must be 1..200 characters');
        const t = now();
        for (const [c, p] of codes) if (p.expires <= t) codes.delete(c);
        const code = randomBytes(32).toString('base64url');
        codes.set(code, { ...r, sub: login, expires: t + CODE_TTL });
        const back = new URL(r.redirectUri);
        back.searchParams.set('code', code);
        if (r.state !== undefined) back.searchParams.set('state', r.state);
        back.searchParams.set('iss', issuer);
        res.writeHead(303, { location: back.href, 'cache-control': 'no-store' });
        res.end();
        return true;
      }
      if (path === '/token' && req.method === 'POST') {
        const params = parseForm(await readBody(req, MAX_FORM_BYTES), req.headers['content-type']);
        const code = params.get('code') ?? '';
        const pending = codes.get(code);
        codes.delete(code);
        const fail = (d: string) => new OAuthError('invalid_grant', 'WARRANT_REQUEST_MALFORMED', d);
        if (params.get('grant_type') !== 'authorization_code')
          throw bad('grant_type must be authorization_code');
        if (pending === undefined || pending.expires <= now()) throw fail('unknown or expired code');
        if (
          params.get('client_id') !== pending.clientId ||
          params.get('redirect_uri') !== pending.redirectUri
        )
          throw fail('the code was issued to another client or redirect URI');
        const verifier = params.get('code_verifier') ?? '';
        const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
        const expected = Buffer.from(pending.challenge);
        if (computed.length !== expected.length || !timingSafeEqual(computed, expected))
          throw fail('the code_verifier does not match the code_challenge');
        const token = idToken(pending.sub, pending.clientId, pending.nonce ? { nonce: pending.nonce } : {});
        sendJson(res, 200, {
          access_token: randomBytes(24).toString('base64url'),
          token_type: 'Bearer',
          expires_in: 300,
          id_token: token,
          scope: 'openid email',
        });
        return true;
      }
      throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such dev identity provider endpoint');
    },
  };
}
