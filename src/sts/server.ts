import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WarrantError } from '../core/errors.ts';
import { tokenHash } from '../core/jose/hash.ts';
import { countRequest } from '../core/load.ts';
import { singleHeader } from '../http/headers.ts';
import { answersWithin } from '../http/probe.ts';
import { admin } from './admin.ts';
import type { AdminExtension } from './admin-input.ts';
import { authenticateClient } from './client-auth.ts';
import { clientCredentials } from './grants/client-credentials.ts';
import { jwtBearer } from './grants/jwt-bearer.ts';
import { tokenExchange } from './grants/token-exchange.ts';
import type { GrantHandler } from './grants/types.ts';
import { MAX_FORM_BYTES, parseForm, required } from './http/form.ts';
import { observe, type RequestNote, routeOf, type StsTelemetry } from './http/observe.ts';
import { readBody, sendError, sendJson } from './http/respond.ts';
import { introspect } from './introspect.ts';
import { fromWarrantError, OAuthError } from './oauth-error.ts';
import { revocationFeed } from './revocation-feed.ts';
import { STATUS_LIST_TTL, signedStatusList } from './status-list.ts';
import type { Sts } from './sts.ts';

const GRANTS: ReadonlyMap<string, GrantHandler> = new Map(
  [clientCredentials, jwtBearer, tokenExchange].map((g) => [g.grantType, g]),
);

export interface StsServerOptions extends StsTelemetry {
  /** The admin bearer credential; admin endpoints answer 401 to anything else, and 404 when unset. */
  readonly adminToken?: string;
  /** Called with every unexpected error (never with request contents). */
  readonly onError?: (error: unknown) => void;
  /** Admin endpoints of other parts (the guard's), behind the same admin credential. */
  readonly adminExtensions?: readonly AdminExtension[];
  /**
   * Endpoints of other parts with their own authentication (the guard's approvals for the people they are
   * addressed to): asked in order for a path no STS route answers; `true` when answered.
   */
  readonly routeExtensions?: readonly ((
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ) => Promise<boolean>)[];
}

type Route = (
  sts: Sts,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  note: RequestNote,
  options: StsServerOptions,
) => Promise<void> | void;

/** RFC 8414 authorization server metadata. */
export function metadata(sts: Sts): Record<string, unknown> {
  return {
    issuer: sts.issuer,
    token_endpoint: sts.tokenEndpoint,
    jwks_uri: `${sts.issuer}/jwks`,
    introspection_endpoint: `${sts.issuer}/introspect`,
    revocation_endpoint: `${sts.issuer}/revoke`,
    grant_types_supported: [...GRANTS.keys()],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
    introspection_endpoint_auth_methods_supported: ['private_key_jwt'],
    revocation_endpoint_auth_methods_supported: ['private_key_jwt'],
    dpop_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
    authorization_details_types_supported: ['warrant_grant'],
    status_list_uri: sts.statusListUri,
    revocation_feed_endpoint: `${sts.issuer}/revocations`,
    txn_complete_endpoint: `${sts.issuer}/txn/complete`,
    admin_openapi_uri: `${sts.issuer}/admin/openapi.json`,
  };
}

async function form(req: IncomingMessage): Promise<Map<string, string>> {
  if (req.method !== 'POST')
    throw new OAuthError('method_not_allowed', 'WARRANT_REQUEST_MALFORMED', 'use POST', {
      headers: { allow: 'POST' },
    });
  return parseForm(await readBody(req, MAX_FORM_BYTES), req.headers['content-type']);
}

/** A header that must appear once; a repeat is refused (400), never resolved by picking one. */
function single(req: IncomingMessage, name: string): string | undefined {
  try {
    return singleHeader(req.headersDistinct, name);
  } catch (error) {
    throw fromWarrantError(error as WarrantError, 'invalid_request');
  }
}

const clientContext = (sts: Sts) => ({
  agents: sts.store.agents,
  replay: sts.assertionReplay,
  audiences: sts.assertionAudiences,
  now: sts.clock(),
});

/** An agent id no agent can have: looking it up proves the store answers. */
const READINESS_PROBE_AGENT = 'spiffe://readiness.invalid/agent/probe';
/** Longest a readiness probe waits for one backing service. */
const PROBE_TIMEOUT_MS = 1000;

/** Whether `check` settles successfully within the probe timeout. */
const probe = (check: () => Promise<unknown>): Promise<boolean> => answersWithin(check, PROBE_TIMEOUT_MS);

const routes: Record<string, Route> = {
  '/.well-known/oauth-authorization-server': (sts, _req, res) =>
    sendJson(res, 200, metadata(sts), { 'cache-control': 'public, max-age=300' }),
  '/jwks': (sts, _req, res) =>
    sendJson(res, 200, sts.keys.keySet(sts.clock()).toJwks(), { 'cache-control': 'public, max-age=60' }),
  '/.well-known/jwks.json': (sts, _req, res) =>
    sendJson(res, 200, sts.keys.keySet(sts.clock()).toJwks(), { 'cache-control': 'public, max-age=60' }),
  '/healthz': (_sts, _req, res) => sendJson(res, 200, { status: 'ok' }),
  '/metrics': async (_sts, _req, res, _url, _note, options) => {
    if (!options.metrics) throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such endpoint');
    const { contentType, body } = await options.metrics.render();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(body);
  },
  '/readyz': async (sts, _req, res, _url, _note, options) => {
    const [readable, replay] = await Promise.all([
      probe(() => sts.store.agents.get(READINESS_PROBE_AGENT)),
      probe(async () => sts.dpopReplay.ping?.()),
    ]);
    // A store that answers reads but refuses every write (its WAL could not be synced) issues nothing.
    const store = readable && (sts.store.writable?.() ?? true);
    // The relay of the other replicas' revocations is hot state too (Redis pub/sub).
    const hotState = replay && sts.feedCompleteSince() !== null;
    const ready = store && hotState;
    if (!ready) options.logger?.warn({ store, hotState }, 'not ready');
    sendJson(res, ready ? 200 : 503, { ready, store, hotState });
  },
  '/token': async (sts, req, res, _url, note) => {
    const params = await form(req);
    const grantType = required(params, 'grant_type');
    const handler = GRANTS.get(grantType);
    note.grantType = handler ? grantType : 'other';
    if (!handler)
      throw new OAuthError(
        'unsupported_grant_type',
        'WARRANT_GRANT_TYPE_UNSUPPORTED',
        'unsupported grant_type',
      );
    const response = await handler.handle(sts, {
      params,
      dpop: single(req, 'dpop'),
      warrantChain: single(req, 'warrant-chain'),
    });
    note.tokenHash = tokenHash(response.access_token);
    sendJson(res, 200, response, { 'dpop-nonce': sts.nonces.issue(sts.clock()) });
  },
  '/introspect': async (sts, req, res, _url, note) => {
    const params = await form(req);
    const caller = await authenticateClient(params, clientContext(sts));
    const token = required(params, 'token');
    note.tokenHash = tokenHash(token);
    sendJson(res, 200, await introspect(sts, token, caller));
  },
  '/revoke': async (sts, req, res, _url, note) => {
    const params = await form(req);
    const caller = await authenticateClient(params, clientContext(sts));
    const token = required(params, 'token');
    const hash = createHash('sha256').update(token, 'latin1').digest('base64url');
    note.tokenHash = hash;
    const record = await sts.store.tokens.get(hash);
    // RFC 7009 §2.2: unknown tokens and tokens of others get the same 200, revealing nothing.
    if (record !== null && (record.actors.includes(caller.id) || record.audience === caller.id)) {
      await sts.revoke({ hash }, `revoked by ${caller.id}`);
    }
    res.writeHead(200, { 'cache-control': 'no-store', 'content-length': 0 });
    res.end();
  },
  '/txn/complete': async (sts, req, res, _url, note) => {
    const params = await form(req);
    const caller = await authenticateClient(params, clientContext(sts));
    const txn = required(params, 'txn');
    note.txn = txn;
    const tokens = await sts.store.tokens.listByTxn(txn);
    const root = tokens.find((t) => t.parentHash === null && t.kind === 'warrant');
    // Only the first agent of the transaction (the orchestrator the person delegated to) may close it.
    if (!root || root.actors.at(-1) !== caller.id) {
      throw new OAuthError(
        'access_denied',
        'WARRANT_DELEGATION_DENIED',
        'only the first agent of the transaction may complete it',
      );
    }
    const revoked = await sts.revoke({ txn }, 'task complete', 'complete');
    sendJson(res, 200, { txn, revoked: revoked.length });
  },
  '/revocations': (sts, req, res, url) => revocationFeed(sts, req, res, url),
};

/** The STS HTTP surface. Every failure is a JSON OAuth error with a stable code; nothing else leaks. */
export function createStsServer(sts: Sts, options: StsServerOptions = {}): Server {
  return createServer(SERVER_OPTIONS, stsRequestHandler(sts, options));
}

const isRoute = (path: string): boolean => Object.hasOwn(routes, path);

/** The request target as a URL; `undefined` when it is not one (an absolute-form target such as `http://[`). */
function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://sts.invalid');
  } catch {
    return undefined;
  }
}

/** The OAuth error answered for a failure: its own, a core error's mapping, else an opaque 500. */
function answerFor(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  // The one code → answer table (src/http/error-table.ts), `invalid_request` where the code alone does not decide.
  if (error instanceof WarrantError) return fromWarrantError(error, 'invalid_request');
  return new OAuthError('server_error', 'WARRANT_STS_UNAVAILABLE', 'internal error; nothing was issued');
}

export const SERVER_OPTIONS = { maxHeaderSize: 32 * 1024, requestTimeout: 30_000 } as const;

export function stsRequestHandler(
  sts: Sts,
  options: StsServerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const adminDigest = options.adminToken
    ? createHash('sha256').update(options.adminToken).digest()
    : undefined;
  const isAdmin = (req: IncomingMessage): boolean => {
    const header = single(req, 'authorization');
    if (!adminDigest || header === undefined || !header.startsWith('Bearer ')) return false;
    return timingSafeEqual(createHash('sha256').update(header.slice(7)).digest(), adminDigest);
  };
  return async (req, res) => {
    countRequest(res);
    const url = requestUrl(req.url);
    const path = url?.pathname ?? '';
    const seen = observe(options, req, path, routeOf(path, isRoute));
    try {
      // A repeated Authorization is refused on every endpoint, never resolved by picking one (node keeps
      // only the first in req.headers).
      single(req, 'authorization');
      if (url === undefined)
        throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', 'malformed request target');
      if (path.startsWith('/status/')) {
        const token = await signedStatusList(sts, path.slice('/status/'.length));
        if (token === undefined)
          throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such status list');
        res.writeHead(200, {
          'content-type': 'application/statuslist+jwt',
          'cache-control': `public, max-age=${STATUS_LIST_TTL}`,
        });
        res.end(token);
        return;
      }
      if (path === '/admin' || path.startsWith('/admin/')) {
        if (!adminDigest)
          throw new OAuthError(
            'not_found',
            'WARRANT_NOT_FOUND',
            'the admin API is not enabled (set an admin token)',
          );
        if (!isAdmin(req)) {
          throw new OAuthError(
            'invalid_token',
            'WARRANT_ADMIN_AUTH_FAILED',
            'admin credential missing or wrong',
            {
              headers: { 'www-authenticate': 'Bearer realm="warrant-admin"' },
            },
          );
        }
        await admin(sts, req, res, url, options.adminExtensions);
        return;
      }
      const route = isRoute(path) ? routes[path] : undefined;
      if (!route) {
        for (const extension of options.routeExtensions ?? []) if (await extension(req, res, url)) return;
        throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such endpoint');
      }
      await route(sts, req, res, url, seen.note, options);
    } catch (error) {
      if (res.headersSent) {
        seen.unexpected(error);
        res.destroy();
      } else {
        const answer = answerFor(error);
        if (answer.code === 'WARRANT_STS_UNAVAILABLE' && !(error instanceof OAuthError)) {
          seen.unexpected(error);
          options.onError?.(error);
        }
        seen.note.error = answer;
        sendError(res, answer);
      }
    }
    seen.finish(res);
  };
}
