/**
 * The per-request context the gateway steps share (src/gateway/steps/): what the request is, what the
 * gateway offers the steps, and the named facts each step adds for the ones after it. A step reads only
 * fields set by the steps before it (their order is `GATEWAY_STEPS`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pool } from 'undici';
import type { GuardConfig } from '../config/types.ts';
import type { ChainCache } from '../core/chain/index.ts';
import type { Grant } from '../core/grants/index.ts';
import type { SigningKey } from '../core/jose/jwk.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import type { Peers } from '../federation/peers.ts';
import type { BreakerCheck, BreakerSubject } from '../guard/breakers/breakers.ts';
import type { BudgetCharges } from '../guard/budgets/charges.ts';
import type { ActionCatalog, CallDescriptor, CatalogEntry, Protocol } from '../guard/catalog.ts';
import type { GuardView } from '../guard/check-call.ts';
import type { RiskSignals } from '../guard/risk.ts';
import type { GuardRuntime } from '../guard/runtime.ts';
import type { DecisionLog, DecisionRecord } from '../ledger/decision-log.ts';
import type { DecisionCache, PolicySet } from '../policy/index.ts';
import type { ReplayCache } from '../replay/index.ts';
import type { GatewayMetrics, RequestTrace } from '../telemetry/index.ts';
import type { RevocationStatus } from '../verify/revocation-view.ts';
import type { Presented } from '../verify/verify-presented.ts';
import type { CallDecision, CallDecisionCache } from './authorize-call.ts';
import type { GatewayError } from './gateway-error.ts';
import type { ParameterReader, RequestParameters } from './read-parameters.ts';
import type { HostEntry } from './request-head.ts';

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
  /** Pinned tools (mcp and a2a routes, src/guard/pins/); absent: `off`. */
  readonly tools?: { readonly pinning: 'off' | 'approve' | 'tofu' };
}

export interface GatewayLimits {
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  /**
   * How long an event stream (`text/event-stream` answer) may stay silent before the gateway ends it
   * cleanly; absent: `DEFAULT_STREAM_IDLE_MS`. Other answers stall under `upstreamTimeoutMs`.
   */
  readonly streamIdleMs?: number;
}

/** The default idle limit of an event stream through the gateway (`gateway.limits.streamIdleMs`). */
export const DEFAULT_STREAM_IDLE_MS = 900_000;

/** What the gateway offers its steps: configuration, trust material, caches, the decision log. */
export interface GatewayServices {
  /** This gateway's id, written into every decision record. */
  readonly id: string;
  /** The STS issuer whose warrants are accepted. */
  readonly issuer: string;
  readonly limits: GatewayLimits;
  /** The public base URL (origin) clients reach the gateway at. */
  readonly publicUrl: string;
  keys(): KeyResolver;
  readonly replay: ReplayCache;
  readonly revocation: RevocationStatus;
  /** Trusted peers (`federation.peers`, DESIGN §11); absent: only this STS's warrants. */
  readonly peers?: Peers | undefined;
  readonly decisions: DecisionLog;
  readonly chainCache: ChainCache;
  readonly decisionCache: DecisionCache;
  readonly callCache: CallDecisionCache;
  /** Epoch seconds. */
  now(): number;
  /**
   * Trust level of an agent: the guard's progressive trust (`guard.trust.level`), read synchronously from
   * the process's cache; absent (no guard): every agent is at level 0, the most constrained.
   */
  readonly trustLevel: ((agentId: string) => number) | undefined;
  /** The guard's store and parts (src/guard/runtime.ts); absent: no guard state. */
  readonly guard: GuardRuntime | undefined;
  /** The guard's options: risk weights, autonomy bounds, approvals (`guard.*`). */
  readonly guardConfig: GuardConfig;
  /** The route for this Host and path, if any (longest prefix first). */
  route(host: string, path: string): GatewayRoute | undefined;
  /** The Host values a route answers. */
  allowedHosts(route: GatewayRoute): readonly HostEntry[];
  /** RFC 9728 protected-resource metadata for the route a `.well-known` path names, answered. */
  answerResourceMetadata(res: ServerResponse, path: string): void;
  /** The connection pool to an upstream origin. */
  pool(origin: string): Pool;
  /** The gateway's instruments (`/metrics`): decisions are counted once recorded. */
  readonly metrics: Pick<GatewayMetrics, 'decision'>;
  /** Tells the gateway whether the last durable append succeeded (readiness: "ledger writable"). */
  appended(ok: boolean): void;
  /** The gateway's own key: it signs the Transaction Token each forwarded call carries (src/verify/txn-token.ts). */
  readonly txnTokenKey: SigningKey;
}

/** The decision a request got: the last call's (or the first refused one's), and the grants the calls used. */
export interface Verdict {
  readonly decision: CallDecision;
  readonly action?: CatalogEntry;
  /** The resource the decision was about (`model:<name>`, a substituted `{tool}`), as authorized. */
  readonly resource?: string;
  readonly grants: readonly Grant[];
  /** Every call of the request the decision allowed, in order (bounded autonomy looks at each). */
  readonly decided?: readonly DecidedCall[];
}

/** One call the decision allowed: what it is, its decision, and (with an `apv` for its action) its digest. */
export interface DecidedCall {
  readonly call: CallDescriptor;
  readonly action: CatalogEntry;
  readonly resource: string;
  readonly decision: CallDecision;
  readonly reader: ParameterReader;
  readonly digest?: string;
}

/** What became of an allowed call (the outcome record), and the refusal to answer when it was not forwarded. */
export interface Forwarded {
  readonly outcome: NonNullable<DecisionRecord['outcome']>;
  /** The status the caller was answered (the upstream's, or the gateway's refusal); absent if none. */
  readonly status?: number;
  /** The failure's class: an error code such as `ECONNREFUSED` or `UND_ERR_SOCKET`, never a message. */
  readonly error?: string;
  readonly refusal?: GatewayError;
}

/** One request through the gateway. */
export class GatewayCall {
  readonly gw: GatewayServices;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** `process.hrtime.bigint()` at arrival. */
  readonly started: bigint;
  /** The catalog and policy this request started with (a reload does not change them mid-request). */
  readonly catalog: ActionCatalog;
  readonly policy: PolicySet;
  readonly scheme: 'http' | 'https';
  /**
   * The request's trace: the caller's trace id (or a new one) and this request's span (the decision's
   * span when tracing is on); its `traceparent` goes to the upstream, its trace id into the record.
   */
  readonly trace: RequestTrace;
  /** Set when a step answered the request itself (the steps after it do not run). */
  answered = false;

  // check-head
  /** The one Host of the request, lower case. */
  host = '';
  /** The request target (origin form) on a fixed base: only its path and query are meaningful. */
  url: URL | undefined;
  route: GatewayRoute | undefined;
  // authenticate
  presented: Presented | undefined;
  // limit-body
  body: Buffer | undefined;
  /** An `http` call resolved early (to know whether its body is read): its action, reused by the guard. */
  httpAction: { readonly action: CatalogEntry | undefined } | undefined;
  // read-call
  calls: readonly CallDescriptor[] = [];
  parameters: RequestParameters | undefined;
  // guard
  guard: GuardView | undefined;
  /**
   * What the guard's parts observed about this caller before the decision (the breakers' state, anomaly
   * signals): risk factors for the decision.
   */
  signals: RiskSignals = { breaker: 'closed', anomaly: 0 };
  // check-breakers
  /** The call's breakers (its keys, their states, the probes it makes); absent when none were checked. */
  breakers: { readonly subject: BreakerSubject; readonly check: BreakerCheck } | undefined;
  /** Seconds until a refusal that ends by itself ends (open breaker, rate limit): the answer's `Retry-After`. */
  retryAfter: number | undefined;
  // decide
  verdict: Verdict | undefined;
  // reserve-budget
  /** The budgets this request counts against: what was reserved, their state, the LLM usage meter. */
  budgets: BudgetCharges | undefined;
  // record
  decisionId: string | undefined;
  /** The allowed call's Txn-Token, signing since the record step (it overlaps the record's fdatasync). */
  txnToken: Promise<string> | undefined;
  // forward
  /** Where the call goes instead of the route's upstream (an action's sandbox); absent: the route's. */
  upstream: string | undefined;
  /** Set by the sandbox step when `upstream` is an action's sandbox: its origin, for the decision record. */
  sandboxed: string | undefined;
  forwarded: Forwarded | undefined;
  /** Sees each chunk of the upstream's answer as it streams to the caller (e.g. an LLM usage meter). */
  responseTap: ((chunk: Buffer) => void) | undefined;

  constructor(
    gw: GatewayServices,
    req: IncomingMessage,
    res: ServerResponse,
    state: { readonly catalog: ActionCatalog; readonly policy: PolicySet; readonly trace: RequestTrace },
  ) {
    this.started = process.hrtime.bigint();
    this.gw = gw;
    this.req = req;
    this.res = res;
    this.catalog = state.catalog;
    this.policy = state.policy;
    this.trace = state.trace;
    this.scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  }

  /** `scheme://Host`: the origin the caller addressed. */
  get origin(): string {
    return `${this.scheme}://${this.host}`;
  }
}

/** A field a step needs, set by an earlier step: a missing one is a bug in the step order. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TypeError(`gateway step order: ${what} is not set yet`);
  return value;
}

/** One named step of the request path: it reads and sets fields of the call, or throws a refusal. */
export interface GatewayStep {
  readonly name: string;
  run(call: GatewayCall): void | Promise<void>;
}

/**
 * Runs once the request is answered, whatever happened (`refusal` when it was refused): what the guard
 * learns from it. It never changes the answer; a failure is logged.
 */
export interface GatewayObserver {
  readonly name: string;
  observe(call: GatewayCall, refusal: GatewayError | undefined): void | Promise<void>;
}
