import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import packageJson from '../../package.json' with { type: 'json' };
import type { WarrantConfig } from '../config/types.ts';
import { SigningKeyRing } from '../core/jose/key-set.ts';
import { loadSigningKey } from './load-signing-key.ts';

export interface DevServer {
  /** Base URL actually listened on (the real port when the configured one is 0). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly issuer: string;
  /** Thumbprint of the current signing key (public). */
  readonly kid: string;
  /** Path of the signing key file and whether this start created it. */
  readonly keyFile: { readonly path: string; readonly created: boolean };
  /** Stops accepting connections, lets in-flight requests finish (at most `graceMs`), then resolves. */
  close(graceMs?: number): Promise<void>;
}

export interface DevServerOptions {
  /** Epoch seconds; injectable for tests. */
  readonly now?: () => number;
}

const ENDPOINTS = Object.freeze({ jwks: '/.well-known/jwks.json', health: '/healthz' });

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The embedded STS of `warrant dev`, as far as it exists today: the signing key (created on first run,
 * reused after), its JWKS, a health check and a service description. Token endpoints come later.
 */
export async function startDevServer(
  config: WarrantConfig,
  options: DevServerOptions = {},
): Promise<DevServer> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const signing = loadSigningKey(config.dataDir, config.sts.algorithms);
  const ring = new SigningKeyRing(signing.key);
  let issuer = config.sts.issuer ?? '';

  const routes: Readonly<Record<string, Handler>> = {
    '/': (_req, res) =>
      sendJson(res, 200, {
        service: 'warrant',
        version: packageJson.version,
        mode: 'dev',
        issuer,
        trustDomain: config.trustDomain,
        endpoints: ENDPOINTS,
        note: 'development server: signing keys and JWKS only; token endpoints, gateway, ledger and dashboard are coming',
      }),
    [ENDPOINTS.health]: (_req, res) => sendJson(res, 200, { status: 'ok' }),
    [ENDPOINTS.jwks]: (_req, res) =>
      sendJson(res, 200, ring.keySet(now()).toJwks(), { 'cache-control': 'public, max-age=60' }),
  };

  const server = createServer((req, res) => {
    const path = pathOf(req.url);
    const handler = path === undefined ? undefined : Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!handler) return sendJson(res, 404, { error: 'not_found' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
    }
    handler(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.sts.listen.port, config.sts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  issuer ||= url;

  return {
    url,
    host: address.address,
    port: address.port,
    issuer,
    kid: signing.key.kid,
    keyFile: { path: signing.path, created: signing.created },
    close: (graceMs = 3000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

function pathOf(target: string | undefined): string | undefined {
  if (target === undefined || !target.startsWith('/')) return undefined;
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
