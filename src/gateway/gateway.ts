import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import { Pool } from 'undici';
import { ChainCache } from '../core/chain/index.ts';
import type { Grant } from '../core/grants/index.ts';
import { verifyRequestSignature } from '../core/http-signatures/message-signature.ts';
import { importPublicJwk } from '../core/jose/jwk.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import type { ActionCatalog, CallDescriptor, CatalogEntry, Protocol } from '../guard/catalog.ts';
import { declaresMoreThan, limitedBody, readBody, sendContinue } from '../http/body.ts';
import type { DecisionLog, DecisionRecord } from '../ledger/decision-log.ts';
import { DecisionCache, type PolicySet } from '../policy/index.ts';
import type { ReplayCache } from '../replay/index.ts';
import type { RevocationStatus } from '../verify/revocation-view.ts';
import { type Presented, verifyPresented } from '../verify/verify-presented.ts';
import { authorizeCall, type CallDecision, CallDecisionCache } from './authorize-call.ts';
import { GatewayError, sendGatewayError } from './gateway-error.ts';
import { GatewayMetrics } from './metrics.ts';
import { isSessionCall, readCall } from './read-call.ts';
import { RequestParameters } from './read-parameters.ts';
import {
  allowedHosts,
  checkHost,
  checkOrigin,
  checkTarget,
  defaultHosts,
  type HostEntry,
  readHost,
} from './request-head.ts';

export interface GatewayRoute {
  readonly match: { readonly host?: string; readonly pathPrefix: string };
  readonly upstream: string;
  readonly audience: string;
  readonly protocol: Protocol;
  /** Require an RFC 9421 signature by the caller's key over method, target, Content-Digest and warrant hash. */
  readonly signedBodies?: boolean;
  /** Host values this route answers (`name` or `name:port`); absent: `match.host`, else the gateway defaults. */
  readonly allowedHosts?: readonly string[];
  /** Browser origins allowed besides the gateway's own; any other `Origin` is refused. */
  readonly allowedOrigins?: readonly string[];
  /** Forward the caller's `Host` to the upstream (default true); false sends the upstream URL's host. */
  readonly preserveHost?: boolean;
}

export interface GatewayLimits {
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
}

export interface GatewayOptions {
  /** This gateway's id, written into every decision record. */
  readonly id: string;
  /** The STS issuer whose warrants are accepted. */
  readonly issuer: string;
  readonly keys: () => KeyResolver;
  readonly revocation: RevocationStatus;
  readonly replay: ReplayCache;
  readonly decisions: DecisionLog;
  readonly routes: readonly GatewayRoute[];
  readonly catalog: ActionCatalog;
  readonly policy: PolicySet;
  readonly limits: GatewayLimits;
  /**
   * The gateway's public base URL (origin) as clients reach it: the RFC 9728 `resource` of each route is
   * this URL plus the route prefix, never the request's Host. Without it, `listening()` sets the
   * listener's URL.
   */
  readonly publicUrl?: string;
  /** The listen address: a default allowed Host (unless it is a wildcard address). */
  readonly listenHost?: string;
  /** Trust level of a calling agent (progressive trust, DESIGN §6); 0 when unknown. */
  readonly trustLevel?: (agentId: string) => number;
  readonly clock?: () => number;
}

/**
 * Headers never forwarded (either way): the connection-specific fields of RFC 9110 §7.6.1 (and whatever a
 * `Connection` header names, see `forwardable`), `Expect` (the gateway answers the expectation itself),
 * the caller's credentials, the forwarding facts the gateway sets itself, and `Host` and `Content-Length`,
 * which the gateway sets. `warrant-*` identity headers a caller sends are dropped too (IDENTITY_PREFIX).
 */
const STRIPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
  'host',
  'authorization',
  'dpop',
  'warrant-chain',
  'content-length',
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-proto',
]);
const IDENTITY_PREFIX = 'warrant-';

/**
 * The policy enforcement point (DESIGN §7). Per request, in order: DPoP proof; warrant or full chain for
 * this route's audience and the presenter's key; revocation status; action from the catalog; grants, risk
 * and the action policy; a durable decision record; then forward with verified identity headers and
 * without the caller's credentials. Any failure answers a precise error and forwards nothing.
 */
export class Gateway {
  readonly #o: GatewayOptions;
  #routes: readonly GatewayRoute[];
  #catalog: ActionCatalog;
  #policy: PolicySet;
  readonly #pools = new Map<string, Pool>();
  readonly chainCache = new ChainCache();
  readonly decisionCache = new DecisionCache();
  readonly callCache = new CallDecisionCache();
  readonly metrics = new GatewayMetrics();
  readonly #clock: () => number;
  #publicUrl: string;
  #defaultHosts: readonly HostEntry[];
  /** Each route's allowed hosts, parsed once. */
  #hosts = new WeakMap<GatewayRoute, readonly HostEntry[]>();

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.#routes = sortRoutes(options.routes);
    this.#catalog = options.catalog;
    this.#policy = options.policy;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.#publicUrl = (options.publicUrl ?? 'http://localhost').replace(/\/+$/, '');
    this.#defaultHosts = defaultHosts(this.#publicUrl, options.listenHost);
  }

  /** Called once the listener is bound: without a configured public URL, the listener's URL is it. */
  listening(url: string): void {
    if (this.#o.publicUrl !== undefined) return;
    this.#publicUrl = url.replace(/\/+$/, '');
    this.#defaultHosts = defaultHosts(this.#publicUrl, this.#o.listenHost);
    this.#hosts = new WeakMap();
  }

  /** The public base URL: the origin of every route's RFC 9728 `resource`. */
  get publicUrl(): string {
    return this.#publicUrl;
  }

  /** Swaps routes, catalog and policy; requests in flight finish with what they started with. */
  reload(next: { routes?: readonly GatewayRoute[]; catalog?: ActionCatalog; policy?: PolicySet }): void {
    if (next.routes) this.#routes = sortRoutes(next.routes);
    if (next.catalog) {
      this.#catalog = next.catalog;
      this.callCache.clear();
    }
    if (next.policy) {
      this.#policy = next.policy;
      this.decisionCache.clear();
      this.callCache.clear();
    }
  }

  get routes(): readonly GatewayRoute[] {
    return this.#routes;
  }

  /** RFC 9728 protected-resource metadata URL for a route (MCP clients discover the STS through it). */
  resourceMetadataUrl(route: GatewayRoute): string {
    return `${this.#publicUrl}/.well-known/oauth-protected-resource${route.match.pathPrefix === '/' ? '' : route.match.pathPrefix}`;
  }

  #allowedHosts(route: GatewayRoute): readonly HostEntry[] {
    let hosts = this.#hosts.get(route);
    if (!hosts) {
      hosts = allowedHosts(route, this.#defaultHosts);
      this.#hosts.set(route, hosts);
    }
    return hosts;
  }

  route(host: string | undefined, path: string): GatewayRoute | undefined {
    const bareHost = host?.replace(/:\d+$/, '').toLowerCase();
    return this.#routes.find(
      (r) =>
        (r.match.host === undefined || r.match.host.toLowerCase() === bareHost) &&
        (path === r.match.pathPrefix ||
          path.startsWith(r.match.pathPrefix.endsWith('/') ? r.match.pathPrefix : `${r.match.pathPrefix}/`) ||
          r.match.pathPrefix === '/'),
    );
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    let host: string;
    try {
      // The request head first: origin-form target, exactly one well-formed Host.
      checkTarget(req);
      host = readHost(req);
    } catch (error) {
      sendGatewayError(res, error as GatewayError);
      return;
    }
    // Origin-form targets are appended to a fixed base, so `//other/x` stays a path, never an authority.
    const url = new URL(`http://gateway.invalid${req.url}`);
    const origin = `${scheme}://${host}`;
    if (url.pathname.startsWith('/.well-known/oauth-protected-resource'))
      return this.#resourceMetadata(res, url.pathname);
    const route = this.route(host, url.pathname);
    if (!route) {
      sendGatewayError(res, new GatewayError('WARRANT_ROUTE_UNKNOWN', 'no route for this host and path'));
      return;
    }
    const metadataUrl = this.resourceMetadataUrl(route);
    let decisionId: string | undefined;
    try {
      // Host and Origin before any credential is read: a DNS-rebound page gets nothing checked or opened.
      checkHost(host, this.#allowedHosts(route));
      checkOrigin(req, scheme, host, this.#publicUrl, route);
      const verified = await verifyPresented(
        { method: req.method ?? 'GET', htu: `${origin}${url.pathname}`, headers: req.headersDistinct },
        {
          issuer: this.#o.issuer,
          keys: this.#o.keys(),
          audience: route.audience,
          replay: this.#o.replay,
          revocation: this.#o.revocation,
          now: this.#clock(),
          cache: this.chainCache,
        },
      ).catch((error: unknown) => {
        throw GatewayError.from(error);
      });
      // A declared oversized body is refused before any decision or forward (streamed ones are cut at the limit).
      if (declaresMoreThan(req, this.#o.limits.maxBodyBytes)) throw tooLarge(this.#o.limits.maxBodyBytes);
      // JSON-RPC and OpenAI calls are read whole (the action is in the body); plain HTTP streams through,
      // unless the route requires a signature over the body or its action reads a parameter from it.
      const needsBody =
        route.signedBodies ||
        (route.protocol !== 'http' && req.method === 'POST') ||
        (route.protocol === 'http' &&
          this.#catalog.readsBody &&
          this.#catalog.resolve({ protocol: 'http', method: req.method ?? 'GET', path: url.pathname })
            ?.readsBody === true);
      if (needsBody) sendContinue(req, res);
      const body = needsBody
        ? await readBody(req, this.#o.limits.maxBodyBytes, () => tooLarge(this.#o.limits.maxBodyBytes))
        : undefined;
      if (route.signedBodies) {
        try {
          verifyRequestSignature({
            method: req.method ?? 'GET',
            url: `${origin}${req.url ?? '/'}`,
            body: body ?? Buffer.alloc(0),
            headers: req.headers,
            warrantHash: verified.leaf.hash,
            key: importPublicJwk(verified.presenter),
            now: this.#clock(),
          });
        } catch (error) {
          throw GatewayError.from(error);
        }
      }
      const calls = readCall(route.protocol, req.method ?? 'GET', url.pathname, body);
      const parameters = new RequestParameters(url, req, body);
      const { decision, action, resource, grants } = this.#decide(calls, verified, route, parameters);
      decisionId = randomUUID();
      const record = this.#record(decisionId, decision, action, resource, verified, route, req, body);
      try {
        await this.#o.decisions.append(record);
      } catch (cause) {
        throw new GatewayError(
          'WARRANT_DECISION_NOT_RECORDED',
          'the decision could not be recorded; nothing was forwarded',
          { cause },
        );
      }
      this.metrics.decision(decision.decision);
      if (decision.decision !== 'allow') {
        throw new GatewayError(
          decision.code ?? 'WARRANT_CALL_DENIED',
          decision.reasons.join('; ').slice(0, 300),
        );
      }
      // Any request holding a tools/list (alone or in a batch) has its answer filtered.
      const filterTools =
        route.protocol === 'mcp' && calls.some((c) => c.protocol === 'mcp' && c.rpcMethod === 'tools/list');
      const forwarded = await this.#forward(
        req,
        res,
        route,
        url,
        host,
        scheme,
        body,
        verified,
        decisionId,
        filterTools,
        grantHeader(grants),
      ).catch(failedForward);
      // The outcome record says what happened to the allowed call: forwarded and answered, or not.
      this.#noteOutcome(decisionId, started, forwarded);
      if (forwarded.refusal) throw forwarded.refusal;
      this.metrics.observe(started);
    } catch (error) {
      this.metrics.observe(started);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e = GatewayError.from(error);
      if (e.status === 401) this.metrics.decision('unauthenticated');
      sendGatewayError(res, e, metadataUrl);
    }
  }

  /**
   * Steps 4–5: every call of the request resolves to a catalog action, is covered by a grant whose
   * constraints its parameters satisfy, and is allowed. `grants`: the distinct grants the calls used.
   */
  #decide(
    calls: readonly CallDescriptor[],
    verified: Presented,
    route: GatewayRoute,
    parameters: RequestParameters,
  ): { decision: CallDecision; action?: CatalogEntry; resource?: string; grants: readonly Grant[] } {
    const trustLevel = this.#o.trustLevel?.(verified.leaf.claims.act.sub) ?? 0;
    const grants: Grant[] = [];
    let last: { decision: CallDecision; action?: CatalogEntry; resource?: string } | undefined;
    for (const call of calls) {
      if (isSessionCall(call)) continue;
      const action = this.#catalog.resolve(call);
      if (action === undefined) {
        return {
          decision: {
            decision: 'deny',
            reasons: [`${describe(call)} is not in the action catalog`],
            code: 'WARRANT_ACTION_UNKNOWN',
            error: 'access_denied',
            policyVersion: this.#policy.version,
            risk: { score: 0, factors: [] },
          },
          grants,
        };
      }
      const resource = resourceOf(action, call, route);
      const decision = authorizeCall({
        claims: verified.leaf.claims,
        action,
        resource,
        trustLevel,
        policy: this.#policy,
        cache: this.decisionCache,
        calls: this.callCache,
        parameters: parameters.reader(call),
      });
      if (decision.decision !== 'allow') return { decision, action, resource, grants };
      if (decision.used !== undefined && !grants.includes(decision.used)) grants.push(decision.used);
      last = { decision, action, resource };
    }
    return {
      ...(last ?? {
        decision: {
          decision: 'allow',
          reasons: ['protocol session call'],
          policyVersion: this.#policy.version,
          risk: { score: 0, factors: [] },
        },
      }),
      grants,
    };
  }

  #record(
    id: string,
    decision: CallDecision,
    action: CatalogEntry | undefined,
    /** The resource the decision was about (`model:<name>`, a substituted `{tool}`), as authorized. */
    resource: string | undefined,
    verified: Presented,
    route: GatewayRoute,
    req: IncomingMessage,
    body: Buffer | undefined,
  ): DecisionRecord {
    const c = verified.leaf.claims;
    const digest = createHash('sha256').update(`${req.method} ${req.url}\n`);
    if (body) digest.update(body);
    const links = verified.chain?.links ?? [verified.leaf];
    return {
      id,
      kind: 'decision',
      time: new Date().toISOString(),
      gateway: this.#o.id,
      decision: decision.decision,
      reasons: decision.reasons,
      ...(decision.code ? { code: decision.code } : {}),
      person: { sub: c.sub, iss: c.sub_iss },
      caller: c.act.sub,
      recipient: route.audience,
      ...(action ? { action: action.name, resource: resource ?? route.audience } : {}),
      granted: c.grants,
      ...(decision.used ? { used: decision.used } : {}),
      ...(decision.values ? { parameters: decision.values } : {}),
      chain: links.map((l) => ({ hash: l.hash, actor: l.claims.act.sub })),
      txn: c.txn,
      ...(c.task ? { task: c.task } : {}),
      policyVersion: decision.policyVersion,
      risk: decision.risk,
      trustLevel: this.#o.trustLevel?.(c.act.sub) ?? 0,
      requestDigest: digest.digest('base64url'),
    };
  }

  /**
   * Step 7: forward with verified identity headers and stream the answer back. Never throws for what the
   * upstream or the caller does: it says what happened (the outcome record), and a failure before the
   * upstream answered comes back as the refusal to send.
   */
  async #forward(
    req: IncomingMessage,
    res: ServerResponse,
    route: GatewayRoute,
    url: URL,
    host: string,
    scheme: 'http' | 'https',
    body: Buffer | undefined,
    verified: Presented,
    decisionId: string,
    filterTools: boolean,
    /** `warrant-grant`: the grant (JSON) the call was allowed under; absent for session calls. */
    grant: string | undefined,
  ): Promise<Forwarded> {
    const upstream = new URL(route.upstream);
    let pool = this.#pools.get(upstream.origin);
    if (!pool) {
      pool = new Pool(upstream.origin, {
        connections: 128,
        headersTimeout: this.#o.limits.upstreamTimeoutMs,
        bodyTimeout: this.#o.limits.upstreamTimeoutMs,
      });
      this.#pools.set(upstream.origin, pool);
    }
    const headers = forwardable(req.headers, true);
    // The upstream's own Host and Origin checks (e.g. MCP DNS-rebinding protection) see what the caller
    // sent, which the gateway has checked against the route; X-Forwarded-Host/Proto say it either way.
    if (route.preserveHost !== false) headers['host'] = host;
    headers['x-forwarded-host'] = host;
    headers['x-forwarded-proto'] = scheme;
    const c = verified.leaf.claims;
    headers['warrant-person'] = c.sub;
    headers['warrant-person-issuer'] = c.sub_iss;
    headers['warrant-actor'] = c.act.sub;
    headers['warrant-txn'] = c.txn;
    headers['warrant-chain-digest'] = verified.chain?.digest ?? verified.leaf.hash;
    headers['warrant-decision'] = decisionId;
    if (grant !== undefined) headers['warrant-grant'] = grant;
    // An agent recipient gets the warrant it received: its subject_token for its own exchange. It is bound
    // to the caller's key (cnf) and addressed to this recipient, so it opens nothing else. Tools never
    // delegate and never see it.
    if (route.audience.startsWith('spiffe://')) headers['warrant-token'] = verified.token;
    if (body) headers['content-length'] = String(body.length);
    const basePath = upstream.pathname.replace(/\/+$/, '');
    const rest =
      route.match.pathPrefix === '/'
        ? url.pathname
        : url.pathname.slice(route.match.pathPrefix.replace(/\/+$/, '').length);
    const path = `${basePath}${rest}` || '/';
    let limited: NodeJS.ReadableStream | undefined;
    if (!body && req.method !== 'GET' && req.method !== 'HEAD') {
      // The caller may now send the body it held back for `Expect: 100-continue`.
      sendContinue(req, res);
      limited = limitedBody(req, this.#o.limits.maxBodyBytes);
    }
    // A caller that goes away (e.g. an MCP client closing its SSE stream) releases the upstream request too.
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const callerGone = () => abort.signal.aborted;
    let response: Awaited<ReturnType<Pool['request']>>;
    try {
      response = await pool.request({
        method: (req.method ?? 'GET') as 'GET',
        path: `${path}${url.search}`,
        headers,
        body: body ?? (limited as never) ?? null,
        signal: abort.signal,
        // With the caller's Host preserved, TLS still names and verifies the upstream itself (undici would
        // otherwise take the SNI name from the Host header). An IP address is passed too: TLS then verifies
        // the certificate against it (node warns once that an IP is never sent as SNI).
        ...(upstream.protocol === 'https:' ? { servername: upstream.hostname.replace(/^\[|\]$/g, '') } : {}),
      });
    } catch (cause) {
      const code = errorClass(cause);
      if (callerGone()) return { outcome: 'client_aborted', error: code };
      if (code === 'WARRANT_BODY_TOO_LARGE') {
        const refusal = new GatewayError('WARRANT_BODY_TOO_LARGE', 'the request body is too large');
        return { outcome: 'request_too_large', status: 413, refusal };
      }
      if (code === 'UND_ERR_HEADERS_TIMEOUT') {
        const refusal = new GatewayError('WARRANT_UPSTREAM_TIMEOUT', 'the upstream did not answer in time', {
          cause,
        });
        return { outcome: 'upstream_timeout', status: 504, error: code, refusal };
      }
      const refusal = new GatewayError('WARRANT_UPSTREAM_FAILED', 'the upstream could not be reached', {
        cause,
      });
      return { outcome: 'upstream_failed', status: 502, error: code, refusal };
    }
    const upstreamStatus = response.statusCode;
    const out = forwardable(response.headers, false);
    if (filterTools) {
      let text: string;
      try {
        text = await response.body.text();
      } catch (cause) {
        const code = errorClass(cause);
        if (callerGone()) return { outcome: 'client_aborted', error: code };
        const refusal = new GatewayError('WARRANT_UPSTREAM_FAILED', 'the upstream answer broke off', {
          cause,
        });
        return { outcome: 'upstream_interrupted', status: 502, error: code, refusal };
      }
      const filtered = this.#filterToolsList(text, String(response.headers['content-type'] ?? ''), verified);
      out['content-length'] = String(Buffer.byteLength(filtered));
      res.writeHead(upstreamStatus, out);
      res.end(filtered);
      return { outcome: (await delivered(res)) ? 'forwarded' : 'client_aborted', status: upstreamStatus };
    }
    if (response.headers['content-length'] !== undefined)
      out['content-length'] = String(response.headers['content-length']);
    res.writeHead(upstreamStatus, out);
    res.flushHeaders();
    try {
      for await (const chunk of response.body) {
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done).off('close', done);
              resolve();
            };
            res.on('drain', done).on('close', done);
          });
        }
      }
      res.end();
    } catch (cause) {
      const code = errorClass(cause);
      if (callerGone()) return { outcome: 'client_aborted', status: upstreamStatus, error: code };
      // The answer has started: the caller learns of the break by its connection closing.
      res.destroy(cause as Error);
      return { outcome: 'upstream_interrupted', status: upstreamStatus, error: code };
    }
    return { outcome: (await delivered(res)) ? 'forwarded' : 'client_aborted', status: upstreamStatus };
  }

  /** `tools/list` answers only the tools this caller's warrant and policy would allow it to call. */
  #filterToolsList(text: string, contentType: string, verified: Presented): string {
    const allowed = (tool: string): boolean => {
      const action = this.#catalog.resolve({ protocol: 'mcp', rpcMethod: 'tools/call', tool });
      if (!action) return false;
      const route = { audience: verified.leaf.claims.aud } as GatewayRoute;
      return (
        authorizeCall({
          claims: verified.leaf.claims,
          action,
          resource: resourceOf(action, { protocol: 'mcp', rpcMethod: 'tools/call', tool }, route),
          trustLevel: this.#o.trustLevel?.(verified.leaf.claims.act.sub) ?? 0,
          policy: this.#policy,
          cache: this.decisionCache,
          calls: this.callCache,
          // Listing, not calling: there are no values yet; each call is checked when it is made.
          parameters: null,
        }).decision === 'allow'
      );
    };
    const filterMessage = (json: string): string => {
      try {
        const parsed = JSON.parse(json) as unknown;
        // A batch is answered with an array of responses.
        const messages = (Array.isArray(parsed) ? parsed : [parsed]) as {
          result?: { tools?: { name: string }[] };
        }[];
        let changed = false;
        for (const message of messages) {
          if (!Array.isArray(message?.result?.tools)) continue;
          message.result.tools = message.result.tools.filter(
            (t) => typeof t?.name === 'string' && allowed(t.name),
          );
          changed = true;
        }
        return changed ? JSON.stringify(parsed) : json;
      } catch {
        // Fail closed: an answer that may list tools but cannot be read is not passed on as it is.
        return json.includes('"tools"')
          ? JSON.stringify({
              jsonrpc: '2.0',
              id: null,
              error: { code: -32603, message: 'tools/list answer could not be filtered' },
            })
          : json;
      }
    };
    if (contentType.startsWith('text/event-stream')) {
      // One SSE event may spread its data over several `data:` lines (joined by newlines): filter the
      // whole event's data, never line by line, so a split message cannot slip through unfiltered.
      return text
        .split(/\n\n/)
        .map((event) => {
          const lines = event.split('\n');
          const data = lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5));
          if (data.length === 0) return event;
          const rest = lines.filter((l) => !l.startsWith('data:'));
          return [...rest, `data: ${filterMessage(data.join('\n'))}`].join('\n');
        })
        .join('\n\n');
    }
    return filterMessage(text);
  }

  #resourceMetadata(res: ServerResponse, path: string): void {
    const suffix = path.slice('/.well-known/oauth-protected-resource'.length) || '/';
    const route =
      this.#routes.find((r) => r.match.pathPrefix === suffix) ??
      (suffix === '/' ? undefined : this.route(undefined, suffix));
    if (!route) {
      sendGatewayError(res, new GatewayError('WARRANT_ROUTE_UNKNOWN', 'no protected resource here'));
      return;
    }
    const body = JSON.stringify({
      // From configuration (the public URL), never from the request's Host.
      resource: `${this.#publicUrl}${route.match.pathPrefix === '/' ? '' : route.match.pathPrefix}`,
      authorization_servers: [this.#o.issuer],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['EdDSA', 'ES256'],
      dpop_bound_access_tokens_required: true,
      warrant_audience: route.audience,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
    res.end(body);
  }

  /** The outcome record of an allowed call: it rides with the next durable batch (nothing waits for it). */
  #noteOutcome(decisionId: string, started: bigint, forwarded: Forwarded): void {
    const outcome: DecisionRecord = {
      id: randomUUID(),
      kind: 'outcome',
      time: new Date().toISOString(),
      gateway: this.#o.id,
      decisionId,
      outcome: forwarded.outcome,
      ...(forwarded.status === undefined ? {} : { status: forwarded.status }),
      ...(forwarded.error === undefined ? {} : { error: forwarded.error }),
      latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
    };
    if (this.#o.decisions.note) this.#o.decisions.note(outcome);
    else void this.#o.decisions.append(outcome).catch(() => {});
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}

/** What became of an allowed call (the outcome record), and the refusal to answer when it was not forwarded. */
interface Forwarded {
  readonly outcome: NonNullable<DecisionRecord['outcome']>;
  /** The status the caller was answered (the upstream's, or the gateway's refusal); absent if none. */
  readonly status?: number;
  /** The failure's class: an error code such as `ECONNREFUSED` or `UND_ERR_SOCKET`, never a message. */
  readonly error?: string;
  readonly refusal?: GatewayError;
}

/**
 * The headers to pass on (request or answer): all but STRIPPED, the fields a `Connection` header names
 * (RFC 9110 §7.6.1), and, for requests, every `warrant-*` header (identity is set by the gateway only).
 */
function forwardable(
  headers: Record<string, string | string[] | undefined>,
  request: boolean,
): Record<string, string | string[]> {
  const connection = headers['connection'];
  const nominated =
    connection === undefined
      ? undefined
      : new Set(
          (Array.isArray(connection) ? connection.join(',') : connection)
            .split(',')
            .map((t) => t.trim().toLowerCase()),
        );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || STRIPPED.has(name) || nominated?.has(name)) continue;
    if (request && name.startsWith(IDENTITY_PREFIX)) continue;
    out[name] = value;
  }
  return out;
}

/** Whether the whole answer was handed to the caller's connection (false: the caller went away first). */
async function delivered(res: ServerResponse): Promise<boolean> {
  try {
    await finished(res);
    return true;
  } catch {
    return false;
  }
}

/** An unexpected failure inside the forward step: not forwarded, as far as anyone can tell. */
function failedForward(cause: unknown): Forwarded {
  const refusal = new GatewayError('WARRANT_UPSTREAM_FAILED', 'the call could not be completed', { cause });
  return { outcome: 'upstream_failed', status: 502, error: errorClass(cause), refusal };
}

function errorClass(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : 'Error';
}

function sortRoutes(routes: readonly GatewayRoute[]): readonly GatewayRoute[] {
  // Longest prefix first, host-specific before host-less.
  return Object.freeze(
    [...routes].sort(
      (a, b) =>
        b.match.pathPrefix.length - a.match.pathPrefix.length ||
        Number(b.match.host !== undefined) - Number(a.match.host !== undefined),
    ),
  );
}

function describe(call: CallDescriptor): string {
  switch (call.protocol) {
    case 'http':
      return `${call.method} ${call.path}`;
    case 'mcp':
      return call.tool ? `MCP tool ${call.tool}` : `MCP method ${call.rpcMethod}`;
    case 'a2a':
      return `A2A ${call.rpcMethod}${call.skill ? ` skill ${call.skill}` : ''}`;
    case 'openai':
      return `model ${call.model}`;
  }
}

/**
 * The `warrant-grant` header: the grant the call was allowed under, as JSON (an array when the calls of a
 * batch used different grants), non-ASCII escaped so it is a valid header value.
 */
function grantHeader(grants: readonly Grant[]): string | undefined {
  if (grants.length === 0) return undefined;
  if (grants.length > 1) return asciiJson(grants);
  // A verified warrant (and its frozen grants) is cached and presented again and again: so is this text.
  let text = GRANT_HEADERS.get(grants[0]!);
  if (text === undefined) {
    text = asciiJson(grants[0]);
    GRANT_HEADERS.set(grants[0]!, text);
  }
  return text;
}

const GRANT_HEADERS = new WeakMap<Grant, string>();

function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function resourceOf(
  action: CatalogEntry,
  call: CallDescriptor,
  route: Pick<GatewayRoute, 'audience'>,
): string {
  if (action.resource === undefined)
    return call.protocol === 'openai' ? `model:${call.model}` : route.audience;
  return action.resource
    .replace('{model}', call.protocol === 'openai' ? call.model : '')
    .replace('{tool}', call.protocol === 'mcp' ? (call.tool ?? '') : '');
}

const tooLarge = (limit: number) =>
  new GatewayError('WARRANT_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`);
