/**
 * `warrant agent proxy` (DESIGN §10): a local forward proxy run beside an agent. It holds the agent's key
 * and a token pool; every request it receives is sent on to the gateway with a pooled warrant for the
 * route's audience and a fresh DPoP proof (the SDK's `createWarrantFetch`: `use_dpop_nonce` and a revoked
 * pooled warrant are retried once), so stock MCP, A2A and HTTP clients that cannot do DPoP work unchanged.
 * Answers — refusals and event streams included — come back untouched.
 *
 * The audience of a path is the `warrant_audience` of the gateway's RFC 9728 metadata for it (or a fixed
 * `audience`). It listens on a loopback address and answers only requests whose `Host` is a loopback name
 * (DNS rebinding), unless `allowRemote` says otherwise: whoever can reach it acts with the agent's authority.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import type { HopRequest } from '../exchange.ts';
import type { TokenPool } from '../token-pool.ts';
import { createWarrantFetch } from '../warrant-fetch.ts';

export interface AgentProxyOptions {
  /** The gateway's public base URL (the origin DPoP proofs name), e.g. `https://gw.example.org`. */
  readonly gateway: string;
  /** The agent's pool (its client holds the key). */
  readonly pool: TokenPool;
  /** Default `127.0.0.1`; a non-loopback address needs `allowRemote`. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  readonly allowRemote?: boolean;
  /** One audience for every path; default: each route's `warrant_audience` from the gateway's metadata. */
  readonly audience?: string;
  /** What each hop asks for besides its audience (narrower grants, scope, task). */
  readonly hop?: Omit<HopRequest, 'audience' | 'approvalId'>;
  /** Largest request body passed on (default 16 MiB); the body is held to be replayed on a retry. */
  readonly maxBodyBytes?: number;
  /** The underlying fetch (tests). */
  readonly fetch?: typeof globalThis.fetch;
}

export interface RunningAgentProxy {
  readonly url: string;
  close(): Promise<void>;
}

export class AgentProxyError extends Error {
  override name = 'AgentProxyError';
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and what the proxy sets itself. */
const DROPPED_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'accept-encoding',
  // The caller's credentials are never passed on: the proxy presents the agent's.
  'authorization',
  'dpop',
  'warrant-chain',
  // Checked here (loopback only); the gateway would judge it against its own origin.
  'origin',
]);
const DROPPED_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export async function startAgentProxy(options: AgentProxyOptions): Promise<RunningAgentProxy> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && options.allowRemote !== true)
    throw new AgentProxyError(
      `refusing to listen on ${host}: anyone who can reach the proxy acts with this agent's authority ` +
        '(listen on a loopback address, or pass --allow-remote)',
    );
  const gateway = new URL(options.gateway);
  const base = gateway.origin;
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  // Long streams live as long as both ends keep them: no body timeout of the proxy's own.
  const dispatcher = new Agent({ bodyTimeout: 0 });
  const baseFetch: typeof globalThis.fetch =
    options.fetch ??
    ((input, init) =>
      undiciFetch(input as never, { ...init, dispatcher } as never) as unknown as Promise<Response>);
  const audiences = new AudienceMap(base, baseFetch);
  const fetches = new Map<string, typeof globalThis.fetch>();
  const fetchFor = (audience: string): typeof globalThis.fetch => {
    let f = fetches.get(audience);
    if (!f) {
      f = createWarrantFetch({
        pool: options.pool,
        hop: { ...options.hop, audience },
        // A refusal asking for a person's approval comes back to the client as it is (with its id).
        approvals: 'return',
        fetch: baseFetch,
      });
      fetches.set(audience, f);
    }
    return f;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // DNS rebinding: a page in a browser on this machine must not reach the agent's authority through a
    // name it controls that resolves to 127.0.0.1. Only loopback names (or, with allowRemote, any) pass.
    const hostname = hostOf(req.headers.host);
    if (options.allowRemote !== true && (hostname === undefined || !isLoopback(hostname)))
      return refuse(res, 403, 'access_denied', 'the Host is not a loopback name', 'WARRANT_HOST_NOT_ALLOWED');
    // Likewise a browser's Origin; the request on to the gateway is then the proxy's own (no Origin).
    const origin = req.headers.origin;
    if (options.allowRemote !== true && origin !== undefined && !loopbackOrigin(origin))
      return refuse(res, 403, 'access_denied', 'the Origin is not local', 'WARRANT_ORIGIN_NOT_ALLOWED');
    const path = req.url ?? '/';
    if (!path.startsWith('/')) return refuse(res, 400, 'invalid_request', 'a path is expected, not a URL');
    const target = `${base}${path}`;
    const body = await readBody(req, maxBody);
    if (body === 'too-large') return refuse(res, 413, 'payload_too_large', 'the request body is too large');
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || DROPPED_REQUEST.has(name)) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const init: RequestInit = {
      method: req.method ?? 'GET',
      headers,
      signal: abort.signal,
      redirect: 'manual',
      ...(body === undefined ? {} : { body }),
    };
    const audience = options.audience ?? (await audiences.of(new URL(target).pathname));
    let response: Response;
    try {
      // A path the gateway has no route for goes on without credentials: its refusal comes back as it is.
      response = await (audience === undefined ? audiences.fetch : fetchFor(audience))(target, init);
    } catch (error) {
      if (abort.signal.aborted) return;
      const e = error as { code?: unknown; status?: unknown };
      const code = typeof e.code === 'string' && e.code.startsWith('WARRANT_') ? e.code : undefined;
      return refuse(
        res,
        502,
        'bad_gateway',
        code === undefined
          ? 'the agent proxy could not reach the gateway or get a warrant'
          : 'the agent proxy could not get a warrant',
        code,
      );
    }
    const out: Record<string, string | string[]> = {};
    const encoded = response.headers.has('content-encoding');
    response.headers.forEach((value, name) => {
      if (DROPPED_RESPONSE.has(name)) return;
      // fetch hands over the decoded body: its length and coding are no longer the answer's.
      if (encoded && (name === 'content-encoding' || name === 'content-length')) return;
      if (name === 'set-cookie') return;
      out[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) out['set-cookie'] = cookies;
    res.writeHead(response.status, out);
    res.flushHeaders();
    if (response.body === null) {
      res.end();
      return;
    }
    // Streams pass through as they come (no buffering): each chunk is written when it arrives.
    const stream = Readable.fromWeb(response.body as never);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 502, 'bad_gateway', 'the agent proxy failed');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await dispatcher.destroy();
    },
  };
}

/** Each route's audience, from the gateway's RFC 9728 metadata (`warrant_audience`), by route prefix. */
class AudienceMap {
  readonly #base: string;
  readonly fetch: typeof globalThis.fetch;
  /** Route prefix → audience, longest prefix first. */
  #routes: { prefix: string; audience: string }[] = [];
  readonly #pending = new Map<string, Promise<string | undefined>>();

  constructor(base: string, fetch: typeof globalThis.fetch) {
    this.#base = base;
    this.fetch = fetch;
  }

  async of(path: string): Promise<string | undefined> {
    const known = this.#routes.find(
      (r) => r.prefix === '/' || path === r.prefix || path.startsWith(`${r.prefix}/`),
    );
    if (known) return known.audience;
    let pending = this.#pending.get(path);
    if (!pending) {
      pending = this.#discover(path).finally(() => this.#pending.delete(path));
      this.#pending.set(path, pending);
    }
    return pending;
  }

  async #discover(path: string): Promise<string | undefined> {
    const r = await this.fetch(
      `${this.#base}/.well-known/oauth-protected-resource${path === '/' ? '' : path}`,
    );
    if (!r.ok) {
      await r.body?.cancel();
      return undefined;
    }
    const metadata = (await r.json()) as { resource?: unknown; warrant_audience?: unknown };
    if (typeof metadata.warrant_audience !== 'string' || typeof metadata.resource !== 'string')
      return undefined;
    const prefix = new URL(metadata.resource).pathname.replace(/\/+$/, '') || '/';
    if (!this.#routes.some((r) => r.prefix === prefix)) {
      this.#routes = [...this.#routes, { prefix, audience: metadata.warrant_audience }].sort(
        (a, b) => b.prefix.length - a.prefix.length,
      );
    }
    return metadata.warrant_audience;
  }
}

function loopbackOrigin(origin: string): boolean {
  try {
    return isLoopback(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/** The host name of a `Host` header (no port, IPv6 brackets kept off); undefined when absent or malformed. */
function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(header.trim());
  return m?.[1];
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined | 'too-large'> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return size === 0 && req.headers['content-length'] === undefined ? undefined : Buffer.concat(chunks);
}

function refuse(
  res: ServerResponse,
  status: number,
  error: string,
  description: string,
  code?: string,
): void {
  const body = JSON.stringify({
    error,
    error_description: description,
    code: code ?? (status === 413 ? 'WARRANT_BODY_TOO_LARGE' : 'WARRANT_UPSTREAM_FAILED'),
  });
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}
