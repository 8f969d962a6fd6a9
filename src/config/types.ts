/**
 * The validated configuration, written by hand to match schema.json (the schema is the source of truth;
 * `load-config.test.ts` checks that the defaults cover every schema property). Every option that has a
 * schema `default` is required here, because validation fills it in.
 */

export type SigningAlgorithm = 'EdDSA' | 'ES256';

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
}

export interface StoreConfig {
  readonly kind: 'sqlite' | 'postgres';
  readonly url?: string;
}

export interface RedisConfig {
  readonly url: string;
  /** Longest wait for one Redis reply on the request path before failing closed (ms). */
  readonly commandTimeoutMs: number;
  /** Longest wait for a connection to Redis (ms). */
  readonly connectTimeoutMs: number;
}

export interface IssuerMapping {
  readonly claim: string;
  readonly pattern?: string;
  readonly agent: string;
}

/** The persons' assertions a trusted OIDC issuer may send to root a warrant. */
export type PersonAssertionKind = 'id_token' | 'id_jag';

export interface TrustedIssuer {
  readonly issuer: string;
  readonly jwksUri?: string;
  readonly jwksFile?: string;
  /** The `aud` of workload tokens; required for workload issuers (kubernetes, spiffe, or with a mapping). */
  readonly audience?: string;
  readonly kind: 'oidc' | 'kubernetes' | 'spiffe';
  readonly mapping?: IssuerMapping;
  /** Absent: `['id_token']` for oidc issuers, none for the others. */
  readonly assertions?: readonly PersonAssertionKind[];
  /** Oldest person authentication accepted (`auth_time`, else `iat`); absent: 3600 s. */
  readonly maxAssertionAgeSeconds?: number;
}

export interface StsConfig {
  readonly issuer?: string;
  readonly listen: ListenConfig;
  /** TLS on the STS listener (`warrant serve`); reloaded on SIGHUP and when the files change. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly algorithms: readonly SigningAlgorithm[];
  readonly identityTokenLifetime: number;
  readonly warrantLifetime: number;
  readonly hopLifetime: number;
  readonly maxDepth: number;
  readonly keyRotation: { readonly overlapSeconds: number; readonly activationDelaySeconds?: number };
  readonly trustedIssuers: readonly TrustedIssuer[];
  readonly devUserIssuer: { readonly enabled: boolean };
}

export interface PolicyConfig {
  readonly delegation?: string;
  readonly action?: string;
  readonly schema?: string;
}

export interface GatewayRoute {
  readonly match: { readonly host?: string; readonly pathPrefix: string };
  readonly upstream: string;
  readonly audience: string;
  readonly protocol: 'http' | 'mcp' | 'a2a' | 'openai';
  readonly signedBodies: boolean;
  /** Host values this route answers; absent: match.host, else the gateway's own names (docs/gateway.md). */
  readonly allowedHosts?: readonly string[];
  /** Browser origins allowed besides the gateway's own; any other Origin is refused. */
  readonly allowedOrigins?: readonly string[];
  /** Forward the caller's Host to the upstream; absent: true. */
  readonly preserveHost?: boolean;
  /**
   * Pinned tools (mcp and a2a routes): how tool (skill) definitions are trusted. Always present once loaded
   * (default `{pinning: off}`); optional for routes built in code.
   */
  readonly tools?: RouteTools;
}

/** `off`: no pinning; `approve`: only operator-approved definitions; `tofu`: pinned on first sight. */
export type PinningMode = 'off' | 'approve' | 'tofu';

export interface RouteTools {
  readonly pinning: PinningMode;
}

export interface GatewayConfig {
  readonly id?: string;
  readonly issuer?: string;
  readonly listen: ListenConfig;
  /** Public base URL (origin) of the gateway; default: the listener's URL. */
  readonly publicUrl?: string;
  readonly routes: readonly GatewayRoute[];
  readonly replayCache: 'memory' | 'redis';
  readonly statusStalenessSeconds: number;
  readonly limits: {
    readonly maxBodyBytes: number;
    readonly maxHeaderBytes: number;
    readonly upstreamTimeoutMs: number;
    readonly streamIdleMs: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
  };
  readonly tls?: GatewayTlsConfig;
}

/** TLS termination on the gateway listener; with `requireClientCert`, mutual TLS against `ca`. */
export interface GatewayTlsConfig {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
  readonly requireClientCert: boolean;
}

/** One cumulative cap (`guard.budgets`, docs/guard.md Budgets). */
export interface BudgetConfig {
  readonly name: string;
  readonly scope: 'agent' | 'person' | 'txn';
  readonly period: 'total' | 'day';
  readonly quantity: 'calls' | 'llm_tokens' | { readonly parameter: string };
  /** Catalog action names or patterns (`payments:*`). */
  readonly actions: readonly string[];
  readonly limit: number;
  readonly onExceed: 'deny' | 'approval';
}

/** The guard (DESIGN §6); each part's options under their own key. */
export interface GuardConfig {
  readonly catalog?: string;
  /** `warrant contain`: how long one compensating call may take (ms). */
  readonly contain: { readonly compensationTimeoutMs: number };
  readonly trust: TrustConfig;
  readonly budgets: readonly BudgetConfig[];
  /** Where the hot counters (breakers, throttle) live; absent in configurations built in code: memory. */
  readonly counters?: 'memory' | 'redis';
  /** Circuit breakers (docs/guard.md#circuit-breakers); absent in configurations built in code: defaults. */
  readonly breakers?: BreakersConfig;
  readonly risk: { readonly weights: RiskWeights };
  readonly autonomy: {
    /** Highest risk without a person, by trust level (index = level; beyond the list: the last entry). */
    readonly bounds: readonly number[];
    readonly blastRadius: { readonly perDoubling: number; readonly cap: number };
  };
  readonly approvals: {
    readonly ttlSeconds: number;
    readonly warrantLifetimeSeconds: number;
    readonly group?: string;
    readonly approverAudience?: string;
    readonly ownerMayApprove: boolean;
  };
}

/** Circuit breakers per agent, per txn and per agent→destination; counts per window of `windowSeconds`. */
export interface BreakersConfig {
  readonly enabled: boolean;
  readonly windowSeconds: number;
  readonly cooldownSeconds: number;
  readonly halfOpenProbes: number;
  readonly maxCalls: { readonly agent: number; readonly txn: number; readonly destination: number };
  readonly baseline: { readonly factor: number; readonly floor: number; readonly alpha: number };
  readonly maxFailures: number;
  readonly maxDenials: number;
  readonly txnSystems: { readonly max: number; readonly learnTxns: number };
}

/** Points of one risk factor per catalog level. */
export type LevelPoints<L extends string> = { readonly [K in L]: number };

/** The weight of every risk factor (`guard.risk.weights`, docs/guard.md "Risk at the edge"). */
export interface RiskWeights {
  readonly impact: LevelPoints<'low' | 'medium' | 'high' | 'critical'>;
  readonly reversibility: LevelPoints<'reversible' | 'compensable' | 'irreversible'>;
  readonly dataClass: LevelPoints<'public' | 'internal' | 'confidential' | 'restricted'>;
  readonly chainDepth: { readonly perHop: number; readonly cap: number };
  readonly blastRadius: { readonly perDoubling: number; readonly cap: number };
  /** Points by trust level (index = level; beyond the list: the last entry). */
  readonly trustLevel: readonly number[];
  readonly breakerHalfOpen: number;
  readonly anomaly: number;
}

export interface WarrantConfig {
  readonly $schema?: string;
  readonly trustDomain: string;
  readonly dataDir: string;
  readonly store: StoreConfig;
  readonly redis?: RedisConfig;
  readonly sts: StsConfig;
  readonly admin: { readonly tokenEnv: string };
  readonly policy: PolicyConfig;
  readonly gateway: GatewayConfig;
  readonly ledger: LedgerConfig;
  readonly guard: GuardConfig;
  readonly dashboard: {
    readonly enabled: boolean;
    readonly sessionTtlSeconds: number;
    readonly oidc?: {
      readonly issuer: string;
      readonly clientId: string;
      readonly clientSecretEnv?: string;
      readonly scopes: readonly string[];
    };
  };
  /** Absent in configurations assembled without validation (tests): no peers. */
  readonly federation?: FederationConfig;
}

/** `ledger` (docs/configuration.md, docs/architecture.md "Several replicas"). */
export interface LedgerConfig {
  readonly checkpointEvery: { readonly records: number; readonly ms: number };
  /** `replicated` needs `store.kind: postgres`. */
  readonly mode: 'single-writer' | 'replicated';
  readonly integrateMs: number;
  readonly leaseMs: number;
  /** Note verifier keys of accepted witnesses. */
  readonly witnesses: readonly string[];
}

/** Progressive trust (`guard.trust`, docs/guard.md). */
export interface TrustConfig {
  /** The highest level (levels run 0..levels). */
  readonly levels: number;
  readonly initialLevel: number;
  readonly promotion: { readonly calls: number; readonly minSeconds: number };
  readonly demotion: { readonly denials: number; readonly failures: number; readonly windowSeconds: number };
  readonly flushMs: number;
}

/**
 * What callers (the CLI flags, tests) may set on top of the file before validation: any subset of the
 * options, objects merged member by member, arrays replaced whole.
 */
export type ConfigOverrides = DeepPartial<WarrantConfig>;

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : NonNullable<T[K]> extends object
      ? DeepPartial<NonNullable<T[K]>>
      : T[K];
};

/** One trusted peer deployment (`federation.peers[]`, DESIGN §11). */
export interface PeerConfig {
  readonly issuer: string;
  readonly jwksUri?: string;
  readonly jwksFile?: string;
  readonly jwks?: { readonly keys: readonly unknown[] };
  readonly trustDomain?: string;
  readonly audiences: readonly string[];
  /** Raw grant objects (parsed with the grant algebra at start). */
  readonly grants: readonly unknown[];
  readonly maxDepth: number;
  readonly maxLifetimeSeconds?: number;
}

/** `federation` (docs/guide-federation.md). */
export interface FederationConfig {
  readonly peers: readonly PeerConfig[];
  readonly statusStalenessSeconds: number;
  readonly watchIntervalMs: number;
}
