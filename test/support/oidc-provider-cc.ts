/**
 * A certified OpenID provider (`oidc-provider`) on loopback, configured for one machine client: the
 * `client_credentials` grant, `private_key_jwt` client authentication, and JWT (`at+jwt`) access tokens for
 * one resource server (RFC 8707 `resource` indicator). The baseline the STS benchmark compares against.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrivateJwk, PublicJwk } from '../../src/core/jose/jwk.ts';

export interface ClientCredentialsProviderOptions {
  /** The client's id (the `iss` and `sub` of its client assertions). */
  readonly clientId: string;
  /** The client's public key; its assertions are signed by the private half. */
  readonly clientJwk: PublicJwk;
  /** The provider's access token signing key (private JWK with `kid`). */
  readonly signingJwk: PrivateJwk & { kid: string };
  /** `EdDSA` or `ES256`, matching both keys. */
  readonly alg: 'EdDSA' | 'ES256';
  /** The resource server the access tokens are for. */
  readonly resource: string;
  /** Scope the resource server accepts. */
  readonly scope: string;
  readonly host?: string;
  readonly port?: number;
}

export interface ClientCredentialsProvider {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly server: Server;
  close(): Promise<void>;
}

interface ProviderInstance {
  callback(): (req: unknown, res: unknown) => void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

/** `before`: work done on each request before the provider sees it (the benchmark's mandated-work row). */
export async function startClientCredentialsProvider(
  options: ClientCredentialsProviderOptions,
  hooks: { before?(req: IncomingMessage, res: ServerResponse): Promise<void> } = {},
): Promise<ClientCredentialsProvider> {
  // oidc-provider ships no type declarations; a computed specifier keeps it `any` for the compiler.
  const specifier: string = 'oidc-provider';
  const Provider = ((await import(specifier)) as { default: ProviderConstructor }).default;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const issuer = `http://${address.address}:${address.port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: options.alg,
        id_token_signed_response_alg: options.alg,
        jwks: { keys: [{ ...options.clientJwk, alg: options.alg, use: 'sig' }] },
        scope: options.scope,
      },
    ],
    jwks: { keys: [{ ...options.signingJwk, alg: options.alg, use: 'sig' }] },
    scopes: [options.scope],
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator !== options.resource) throw new Error('unknown resource');
          return {
            scope: options.scope,
            audience: options.resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: options.alg } },
          };
        },
      },
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));
  const callback = provider.callback();
  const before = hooks.before;
  server.on(
    'request',
    before === undefined
      ? callback
      : (req: IncomingMessage, res: ServerResponse) =>
          void before(req, res).then(
            () => callback(req, res),
            () => res.writeHead(500).end(),
          ),
  );
  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
