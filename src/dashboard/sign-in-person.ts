/**
 * Persons sign in to the dashboard through the configured OpenID Connect provider (`dashboard.oidc`, or in
 * `warrant dev` its dev provider) with the authorization code flow and PKCE (S256), state and nonce, by
 * openid-client: `start` answers the redirect to the provider and keeps the login's secrets server-side
 * (keyed by a random id in a short-lived SameSite=Lax cookie, which must survive the provider's redirect
 * back); `finish` redeems the code, verifies the ID token (issuer, audience, signature, nonce) and answers
 * the person it names. A login is single-use and lives 10 minutes.
 */
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { signInFailed } from './answers.ts';

export const LOGIN_COOKIE = 'warrant_ui_login';
const LOGIN_TTL = 600;
const MAX_LOGINS = 10_000;

interface Login {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly expires: number;
}

export interface PersonSignIn {
  readonly issuer: string;
  /** Where to send the browser, and the login id to keep in the login cookie. */
  start(): Promise<{ location: string; loginId: string }>;
  /** The person named by the provider's answer at `callbackUrl` (the full URL the browser came back to). */
  finish(
    loginId: string | undefined,
    callbackUrl: URL,
  ): Promise<{ sub: string; iss: string; email?: string }>;
}

export interface PersonSignInOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  /** `<public url>/ui/auth/callback`. */
  readonly redirectUri: string;
  readonly now: () => number;
  /** Plain http to the provider on any address (`warrant dev`'s own provider); else only on loopback. */
  readonly allowHttp?: boolean;
}

export function personSignIn(options: PersonSignInOptions): PersonSignIn {
  const logins = new Map<string, Login>();
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = () => {
    discovered ??= client
      .discovery(
        new URL(options.issuer),
        options.clientId,
        options.clientSecret,
        options.clientSecret === undefined ? client.None() : undefined,
        // A plain-http provider is accepted only on a loopback address, or when it is warrant dev's own.
        options.allowHttp || isLoopbackHttp(options.issuer)
          ? { execute: [client.allowInsecureRequests] }
          : undefined,
      )
      .catch((error: unknown) => {
        discovered = undefined;
        throw error;
      });
    return discovered;
  };
  return {
    issuer: options.issuer,
    async start() {
      const config = await configuration();
      const now = options.now();
      for (const [id, l] of logins) if (l.expires <= now) logins.delete(id);
      if (logins.size >= MAX_LOGINS) logins.delete(logins.keys().next().value as string);
      const login: Login = {
        verifier: client.randomPKCECodeVerifier(),
        state: client.randomState(),
        nonce: client.randomNonce(),
        expires: now + LOGIN_TTL,
      };
      const loginId = randomBytes(24).toString('base64url');
      logins.set(loginId, login);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri,
        scope: options.scopes.join(' '),
        code_challenge: await client.calculatePKCECodeChallenge(login.verifier),
        code_challenge_method: 'S256',
        state: login.state,
        nonce: login.nonce,
      });
      return { location: url.href, loginId };
    },
    async finish(loginId, callbackUrl) {
      const login = loginId === undefined ? undefined : logins.get(loginId);
      if (loginId !== undefined) logins.delete(loginId);
      if (login === undefined || login.expires <= options.now())
        throw signInFailed('no sign-in is under way in this browser (or it took too long): start again');
      const config = await configuration();
      let claims: client.IDToken | undefined;
      try {
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: login.verifier,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (cause) {
        throw signInFailed(`the identity provider's answer does not verify: ${(cause as Error).message}`);
      }
      if (claims === undefined || typeof claims.sub !== 'string') throw signInFailed('no ID token');
      const email = claims['email'];
      return { sub: claims.sub, iss: claims.iss, ...(typeof email === 'string' ? { email } : {}) };
    },
  };
}

function isLoopbackHttp(issuer: string): boolean {
  const u = new URL(issuer);
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}
