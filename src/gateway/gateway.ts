import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { defaultConfig } from '../config/load-config.ts';
import type { GuardConfig } from '../config/types.ts';
import { ChainCache } from '../core/chain/index.ts';
import { generateSigningKey, type SigningKey } from '../core/jose/jwk.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import { KeySet } from '../core/jose/key-set.ts';
import { countRequest } from '../core/load.ts';
import type { Peers } from '../federation/peers.ts';
import type { ActionCatalog } from '../guard/catalog.ts';
import { CountersUnavailableError } from '../guard/counters/counters.ts';
import type { GuardRuntime } from '../guard/runtime.ts';
import type { DecisionLog } from '../ledger/decision-log.ts';
import { DecisionCache, type PolicySet } from '../policy/index.ts';
import type { ReplayCache } from '../replay/index.ts';
import {
  accessLog,
  createLogger,
  createMetrics,
  type Logger,
  logError,
  type Metrics,
  TRACING_OFF,
  type Tracing,
} from '../telemetry/index.ts';
import type { RevocationStatus } from '../verify/revocation-view.ts';
import { CallDecisionCache } from './authorize-call.ts';
import { GatewayCall, type GatewayLimits, type GatewayRoute, type GatewayServices } from './context.ts';
import { GatewayError, jsonRpcIdOf, sendGatewayError } from './gateway-error.ts';
import { allowedHosts, defaultHosts, type HostEntry } from './request-head.ts';
import { GATEWAY_OBSERVERS, GATEWAY_STEPS } from './steps/index.ts';

export type { GatewayLimits, GatewayRoute } from './context.ts';

export interface GatewayOptions {
  /** This gateway's id, written into every decision record. */
  readonly id: string;
  /** The STS issuer whose warrants are accepted. */
  readonly issuer: string;
  readonly keys: () => KeyResolver;
  readonly revocation: RevocationStatus;
  /** Trusted peers (`federation.peers`, DESIGN §11): chains that cross into this deployment. */
  readonly peers?: Peers;
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
  /** The guard's store and parts (DESIGN §6); absent: no guard state. */
  readonly guard?: GuardRuntime;
  /** The guard's options (risk weights, autonomy bounds, approvals); default: the shipped ones. */
  readonly guardConfig?: GuardConfig;
  readonly clock?: () => number;
  /** Access and error lines; default `createLogger({service: 'gateway'})` (level: `--log-level`, `LOG_LEVEL`). */
  readonly logger?: Logger;
  /** The registry `/metrics` answers from; default a new `createMetrics('gateway')`. */
  readonly metrics?: Metrics;
  /** Spans, one per decision; default off (the trace context is still read and passed upstream). */
  readonly tracing?: Tracing;
  /**
   * The key that signs the Transaction Tokens sent upstream (`startGateway` keeps it at
   * `<dataDir>/txn-token-key.jwk`); default a new key for this process.
   */
  readonly txnTokenKey?: SigningKey;
  /**
   * Told each step's wall time (µs, from the step's start to its end, waits included) as the request
   * passes it: for benchmarks and diagnostics (`BENCH_GW_STEPS=1 npm run bench -- gateway`). Default none:
   * nothing is timed.
   */
  readonly stepTimer?: (step: string, micros: number) => void;
}

const METADATA_PATH = '/.well-known/oauth-protected-resource';

/**
 * The policy enforcement point (DESIGN §7): each request runs the steps of `GATEWAY_STEPS` in order —
 * request head; DPoP proof, warrant or chain, revocation status; body; signature; the calls; the guard;
 * grants, risk and the action policy; a durable decision record; then forward with verified identity
 * headers and without the caller's credentials. Any failure answers a precise error and forwards nothing.
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
  /** The Prometheus registry of this gateway (process, runtime and gateway instruments). */
  readonly metrics: Metrics;
  readonly #logger: Logger;
  readonly #tracing: Tracing;
  readonly #stepTimer: ((step: string, micros: number) => void) | undefined;
  readonly #clock: () => number;
  #publicUrl: string;
  #defaultHosts: readonly HostEntry[];
  /** Each route's allowed hosts, parsed once. */
  #hosts = new WeakMap<GatewayRoute, readonly HostEntry[]>();
  /** Whether the last durable append failed (readiness: the ledger is not writable). */
  #appendFailed = false;
  /** What the steps see of the gateway. */
  readonly #services: GatewayServices;
  #txnTokenKey: SigningKey | undefined;

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.#routes = sortRoutes(options.routes);
    this.#catalog = options.catalog;
    this.#policy = options.policy;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.#publicUrl = (options.publicUrl ?? 'http://localhost').replace(/\/+$/, '');
    this.#defaultHosts = defaultHosts(this.#publicUrl, options.listenHost);
    this.metrics = options.metrics ?? createMetrics('gateway');
    this.#logger = options.logger ?? createLogger({ service: 'gateway' });
    this.#tracing = options.tracing ?? TRACING_OFF;
    this.#stepTimer = options.stepTimer;
    this.metrics.gateway.readCaches(() => ({
      presented: this.chainCache.texts,
      chain: this.chainCache.chains,
      token: this.chainCache.tokens,
      call: this.callCache,
      decision: this.decisionCache,
    }));
    const gateway = this;
    this.#services = {
      id: options.id,
      issuer: options.issuer,
      limits: options.limits,
      get publicUrl() {
        return gateway.#publicUrl;
      },
      keys: options.keys,
      replay: options.replay,
      revocation: options.revocation,
      peers: options.peers,
      decisions: options.decisions,
      chainCache: this.chainCache,
      decisionCache: this.decisionCache,
      callCache: this.callCache,
      now: this.#clock,
      // Progressive trust (src/guard/trust/): the level from this process's cache, read per request.
      trustLevel: options.guard === undefined ? undefined : (agent) => options.guard!.trust.level(agent),
      guard: options.guard,
      guardConfig: options.guardConfig ?? defaultConfig().guard,
      route: (host, path) => this.route(host, path),
      allowedHosts: (route) => this.#allowedHosts(route),
      answerResourceMetadata: (res, path) => this.#resourceMetadata(res, path),
      metrics: this.metrics.gateway,
      pool: (origin) => this.#pool(origin),
      appended: (ok) => {
        this.#appendFailed = !ok;
      },
      txnTokenKey: this.txnTokenKey,
    };
  }

  /** The key that signs this gateway's Transaction Tokens. */
  get txnTokenKey(): SigningKey {
    this.#txnTokenKey ??= this.#o.txnTokenKey ?? generateSigningKey('EdDSA');
    return this.#txnTokenKey;
  }

  /** The JWKS upstreams verify Txn-Tokens with (`GET /.well-known/txn-token-jwks.json`). */
  get txnTokenJwks(): { keys: unknown[] } {
    return new KeySet([this.txnTokenKey]).toJwks();
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
    // A new catalog or policy may change what agents may do alone: the ledger's statements follow.
    if (next.catalog || next.policy)
      this.#o.guard?.autonomy
        .recordAll()
        .catch((error: unknown) => logError(this.#logger, error, { part: 'autonomy' }));
  }

  get routes(): readonly GatewayRoute[] {
    return this.#routes;
  }

  /** The catalog and action policy new requests are decided with (autonomy statements are made from them). */
  get sources(): { readonly catalog: ActionCatalog; readonly policy: PolicySet } {
    return { catalog: this.#catalog, policy: this.#policy };
  }

  /** This gateway's id (in every record it writes). */
  get id(): string {
    return this.#o.id;
  }

  /** The action catalog in force (the last reload's). */
  get catalog(): ActionCatalog {
    return this.#catalog;
  }

  /** Whether the decision log took the last durable append (false after a failed one, until one succeeds). */
  get ledgerWritable(): boolean {
    return !this.#appendFailed;
  }

  /** RFC 9728 protected-resource metadata URL for a route (MCP clients discover the STS through it). */
  resourceMetadataUrl(route: GatewayRoute): string {
    return `${this.#publicUrl}${METADATA_PATH}${route.match.pathPrefix === '/' ? '' : route.match.pathPrefix}`;
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

  /**
   * One request: the steps in order, sharing one `GatewayCall`; a refusal ends it with its answer. Then,
   * whatever happened, one access line, the request's metrics and the end of its span.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    countRequest(res);
    const trace = this.#tracing.traceContextFor(req.headers, 'warrant.decision');
    const call = new GatewayCall(this.#services, req, res, {
      catalog: this.#catalog,
      policy: this.#policy,
      trace,
    });
    let refusal: GatewayError | undefined;
    const timer = this.#stepTimer;
    try {
      for (const step of GATEWAY_STEPS) {
        // Timed only with a step timer (benchmarks): a step that throws is timed too.
        const t0 = timer === undefined ? 0n : process.hrtime.bigint();
        try {
          const pending = step.run(call);
          if (pending !== undefined) await pending;
        } finally {
          if (timer !== undefined) timer(step.name, Number(process.hrtime.bigint() - t0) / 1000);
        }
        if (call.answered) break;
      }
    } catch (error) {
      refusal = this.#native(call, GatewayError.from(error));
      this.#refuse(call, refusal);
    }
    this.#observe(call, refusal);
    this.#finish(call, refusal);
  }

  /**
   * What the guard learns from the request once it is answered (outcomes for progressive trust, failures
   * and denials for the breakers, usage for the budgets): each observer in turn; one that fails is logged,
   * never the caller's problem.
   */
  #observe(call: GatewayCall, refusal: GatewayError | undefined): void {
    for (const observer of GATEWAY_OBSERVERS) {
      try {
        const pending = observer.observe(call, refusal);
        if (pending !== undefined)
          pending.catch((error: unknown) => logError(this.#logger, error, { observer: observer.name }));
      } catch (error) {
        logError(this.#logger, error, { observer: observer.name });
      }
    }
  }

  /** Answers a refusal (or, once the answer has started, cuts the connection). */
  #refuse(call: GatewayCall, e: GatewayError): void {
    const { res, route } = call;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A challenge names the route's RFC 9728 metadata (MCP clients find the STS through it).
    sendGatewayError(res, e, route === undefined ? undefined : this.resourceMetadataUrl(route));
  }

  /**
   * Protocol-native refusals (DESIGN §7): on an `mcp` or `a2a` route, a refusal by the guard or the policy
   * (403, 429) of one JSON-RPC request — `tools/call`, `message/send`, … — is answered as a JSON-RPC error
   * to it, so the SDKs surface it as that call's error, not as a transport failure. Refusals before the
   * call was read (credentials, DPoP, body), notifications, batches and the gateway's own failures stay
   * HTTP answers.
   */
  #native(call: GatewayCall, e: GatewayError): GatewayError {
    const protocol = call.route?.protocol;
    if (protocol !== 'mcp' && protocol !== 'a2a') return e;
    if (e.jsonRpcId !== undefined || (e.status !== 403 && e.status !== 429)) return e;
    const [only, ...more] = call.calls;
    if (only === undefined || more.length > 0 || !('rpcMethod' in only) || only.rpcMethod.startsWith('$'))
      return e;
    const id = jsonRpcIdOf(call.body);
    return id === null ? e : e.asJsonRpc(id);
  }

  /**
   * The request's figures: requests that reached a route are timed and counted (401s as
   * `unauthenticated`; decisions were counted when recorded); every request gets one access line; a
   * failure of the gateway's own (5xx) is logged with its code and cause; the span ends.
   */
  #finish(call: GatewayCall, refusal: GatewayError | undefined): void {
    const { route, trace } = call;
    // A refusal answered as a JSON-RPC error went out as 200; its own status still says what it was.
    const status = refusal?.status ?? call.forwarded?.status ?? call.res.statusCode;
    const decided = call.decisionId === undefined ? undefined : call.verdict?.decision;
    const decision = decided?.decision ?? (status === 401 ? 'unauthenticated' : undefined);
    const code = refusal?.code;
    if (route !== undefined) {
      if (decision === 'unauthenticated') this.metrics.gateway.decision('unauthenticated', code);
      else if (code === 'WARRANT_HOT_STATE_UNAVAILABLE')
        this.metrics.hotState.error(
          refusal?.cause instanceof CountersUnavailableError ? 'guard-counters' : 'replay',
        );
      this.metrics.gateway.observe(call.started, route.match.pathPrefix, decision ?? 'refused');
    }
    const claims = call.presented?.leaf.claims;
    accessLog(this.#logger, {
      ...(route === undefined ? {} : { route: route.match.pathPrefix }),
      method: call.req.method ?? 'GET',
      path: call.url?.pathname ?? '',
      status,
      ...(decision === undefined ? {} : { decision }),
      ...(code === undefined ? {} : { code }),
      latencyMs: Number(process.hrtime.bigint() - call.started) / 1e6,
      ...(claims === undefined ? {} : { txn: claims.txn, tokenHash: call.presented!.leaf.hash }),
      traceId: trace.traceId,
    });
    if (refusal !== undefined && refusal.status >= 500)
      logError(this.#logger, refusal.cause ?? refusal, {
        status: refusal.status,
        code: refusal.code,
        ...(route === undefined ? {} : { route: route.match.pathPrefix }),
        ...(claims === undefined ? {} : { txn: claims.txn }),
        traceId: trace.traceId,
      });
    if (trace.recording) {
      trace.setAttributes({
        'http.request.method': call.req.method ?? 'GET',
        ...(route === undefined ? {} : { 'http.route': route.match.pathPrefix }),
        ...(decision === undefined ? {} : { 'warrant.decision': decision }),
        ...(claims === undefined
          ? {}
          : { 'warrant.txn': claims.txn, 'warrant.token_hash': call.presented!.leaf.hash }),
      });
    }
    trace.end({ status, ...(code === undefined ? {} : { code }) });
  }

  #allowedHosts(route: GatewayRoute): readonly HostEntry[] {
    let hosts = this.#hosts.get(route);
    if (!hosts) {
      hosts = allowedHosts(route, this.#defaultHosts);
      this.#hosts.set(route, hosts);
    }
    return hosts;
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: 128,
        headersTimeout: this.#o.limits.upstreamTimeoutMs,
        bodyTimeout: this.#o.limits.upstreamTimeoutMs,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  #resourceMetadata(res: ServerResponse, path: string): void {
    const suffix = path.slice(METADATA_PATH.length) || '/';
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
      // The scope tokens a warrant for this route may carry: the catalog's actions on its protocol.
      scopes_supported: scopesOf(this.#catalog, route),
      warrant_audience: route.audience,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
    res.end(body);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}

/**
 * The names of the catalog actions a call on `route` can resolve to (a scope token is an action name,
 * `grantsFromScope`): those of the route's protocol; on an `http` route, those whose path lies under it.
 */
function scopesOf(catalog: ActionCatalog, route: GatewayRoute): string[] {
  const prefix = route.match.pathPrefix.replace(/\/+$/, '');
  const names = new Set<string>();
  for (const action of catalog.actions) {
    const m = action.match;
    if (m.protocol !== route.protocol) continue;
    if (m.protocol === 'http' && prefix !== '' && !(m.path === prefix || m.path?.startsWith(`${prefix}/`)))
      continue;
    names.add(action.name);
  }
  return [...names].sort();
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
