/**
 * A real person identity provider for integration tests: `oidc-provider` (a certified OpenID Provider) on
 * loopback, with an in-memory account store and one registered relying party (the person's login client,
 * authorization code + PKCE). `loginAndGetIdToken` drives the whole authorization code flow programmatically
 * — authorization request, the dev-interaction login and consent forms (carrying the provider's cookies),
 * the redirect with `code`, and the code exchange — with `openid-client` as the relying party, and returns
 * the ID token oidc-provider signed. The STS trusts the provider by its issuer URL and JWKS URI.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as client from 'openid-client';

export const IDP_CLIENT_ID = 'warrant-person-login';
/** Registered but never served: the flow stops at the redirect and reads `code` from its Location. */
export const IDP_REDIRECT_URI = 'http://127.0.0.1:9/callback';
export const IDP_ID_TOKEN_ALG = 'ES256';

export interface IdpAccount {
  readonly sub: string;
  readonly email?: string;
  readonly name?: string;
}

export interface OidcIdp {
  /** The issuer identifier (its base URL). */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly clientId: string;
  /** The STS `trustedIssuers` entry for this provider: it sends ID tokens and ID-JAGs. */
  readonly trustedIssuer: {
    issuer: string;
    jwksUri: string;
    kind: 'oidc';
    assertions: ('id_token' | 'id_jag')[];
  };
  /** Logs `sub` in through the authorization code flow (PKCE, nonce, state) and returns its ID token. */
  loginAndGetIdToken(sub: string): Promise<string>;
  /**
   * Logs `sub` in for another relying party's authorization request: follows it through the login and
   * consent to the redirect to `redirectUri`, and returns that URL (with `code` and `state`).
   */
  authorize(authorizationUrl: URL, sub: string, redirectUri: string): Promise<URL>;
  /**
   * An ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant §3) for `sub`, signed with the provider's own
   * signing key (the one its JWKS publishes) by jose: what the provider's token exchange would answer with.
   */
  issueIdJag(
    sub: string,
    claims: { aud: string; client_id: string } & Record<string, unknown>,
  ): Promise<string>;
  close(): Promise<void>;
}

/** The little of oidc-provider's surface used here (the package ships no type declarations). */
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

// A non-literal specifier: the untyped module is imported as `any` and narrowed to the interface above.
const OIDC_PROVIDER: string = 'oidc-provider';

/** A minimal cookie jar: the provider scopes its interaction cookies by path; sending all is harmless. */
class CookieJar {
  readonly #cookies = new Map<string, string>();
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k = '', v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        return (
          (key === 'expires' && Date.parse(v.trim()) <= Date.now()) ||
          (key === 'max-age' && Number(v.trim()) <= 0)
        );
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function startOidcIdp(
  accounts: readonly IdpAccount[] = [{ sub: 'alice' }],
  /** More relying parties (authorization code + PKCE, public): the dashboard's, with its redirect URI. */
  extraClients: readonly { readonly clientId: string; readonly redirectUri: string }[] = [],
): Promise<OidcIdp> {
  const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: ProviderConstructor };
  const known = new Map(accounts.map((a) => [a.sub, a]));

  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = await generateKeyPair(IDP_ID_TOKEN_ALG, { extractable: true });
  const signingJwk = {
    ...(await exportJWK(privateKey)),
    kid: 'idp-es256-1',
    alg: IDP_ID_TOKEN_ALG,
    use: 'sig',
  };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: IDP_CLIENT_ID,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [IDP_REDIRECT_URI],
        id_token_signed_response_alg: IDP_ID_TOKEN_ALG,
      },
      ...extraClients.map((c) => ({
        client_id: c.clientId,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [c.redirectUri],
        id_token_signed_response_alg: IDP_ID_TOKEN_ALG,
      })),
    ],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [crypto.getRandomValues(new Uint8Array(32)).toString()] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: {
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: 600,
      IdToken: 300,
    },
    async findAccount(_ctx: unknown, sub: string) {
      const account = known.get(sub);
      if (account === undefined) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            ...(account.email === undefined ? {} : { email: account.email, email_verified: true }),
            ...(account.name === undefined ? {} : { name: account.name }),
          };
        },
      };
    },
  });
  server.on('request', provider.callback());

  const rp = await client.discovery(new URL(issuer), IDP_CLIENT_ID, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });

  async function loginAndGetIdToken(sub: string): Promise<string> {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const authorizationUrl = client.buildAuthorizationUrl(rp, {
      redirect_uri: IDP_REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
    });
    const next = await authorize(authorizationUrl, sub, IDP_REDIRECT_URI);
    const tokens = await client.authorizationCodeGrant(rp, next, {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      expectedState: state,
      idTokenExpected: true,
    });
    if (tokens.id_token === undefined) throw new Error('the IdP issued no ID token');
    return tokens.id_token;
  }

  /** Follows an authorization request through the dev login and consent to the redirect (with `code`). */
  async function authorize(authorizationUrl: URL, sub: string, redirectUri: string): Promise<URL> {
    const jar = new CookieJar();
    const step = async (url: URL, init: RequestInit = {}): Promise<URL> => {
      const response = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string> | undefined), cookie: jar.header() },
      });
      jar.store(response);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) {
        throw new Error(`IdP step ${url.pathname} answered ${response.status}: ${await response.text()}`);
      }
      await response.body?.cancel();
      return new URL(location, url);
    };
    const submit = (interaction: URL, fields: Record<string, string>) =>
      step(interaction, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });

    // Authorization request → login prompt; submit the dev login form (any password).
    let next = await step(authorizationUrl);
    for (let prompts = 0; !next.href.startsWith(redirectUri); prompts++) {
      if (prompts > 6) throw new Error(`IdP login did not finish; stuck at ${next.href}`);
      if (next.pathname.startsWith('/interaction/')) {
        // The rendered page names the prompt it wants (login or consent) in a hidden form field.
        const page = await fetch(next, { headers: { cookie: jar.header() } });
        jar.store(page);
        const html = await page.text();
        const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
        if (prompt === 'login') next = await submit(next, { prompt, login: sub, password: 'irrelevant' });
        else if (prompt === 'consent') next = await submit(next, { prompt });
        else throw new Error(`IdP interaction without a known prompt at ${next.href}`);
      } else {
        next = await step(next);
      }
    }
    if (next.searchParams.has('error')) {
      throw new Error(
        `IdP refused the login: ${next.searchParams.get('error')} ${next.searchParams.get('error_description')}`,
      );
    }
    return next;
  }

  const jwksUri = rp.serverMetadata().jwks_uri;
  if (jwksUri === undefined) throw new Error('the IdP publishes no jwks_uri');
  return {
    issuer,
    jwksUri,
    clientId: IDP_CLIENT_ID,
    trustedIssuer: { issuer, jwksUri, kind: 'oidc', assertions: ['id_token', 'id_jag'] },
    loginAndGetIdToken,
    authorize,
    issueIdJag(sub, claims) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub, jti: crypto.randomUUID(), auth_time: now, ...claims })
        .setProtectedHeader({ alg: IDP_ID_TOKEN_ALG, kid: signingJwk.kid, typ: 'oauth-id-jag+jwt' })
        .setIssuer(issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
