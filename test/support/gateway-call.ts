/**
 * In-process fakes for unit tests of the gateway steps (src/gateway/steps/*.test.ts): a request object
 * as node:http gives it (headers, headersDistinct, a body to iterate), a response that records what was
 * written, the gateway's services with in-memory parts, and a `GatewayCall` over them — no server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defaultConfig } from '../../src/config/load-config.ts';
import { ChainCache } from '../../src/core/chain/index.ts';
import { createDpopProof } from '../../src/core/dpop/index.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { CallDecisionCache } from '../../src/gateway/authorize-call.ts';
import { GatewayCall, type GatewayRoute, type GatewayServices } from '../../src/gateway/context.ts';
import { ActionCatalog, type CatalogAction } from '../../src/guard/catalog.ts';
import { MemoryDecisionLog } from '../../src/ledger/decision-log.ts';
import { DecisionCache, type PolicySet } from '../../src/policy/index.ts';
import { MemoryReplayCache } from '../../src/replay/index.ts';
import { TRACING_OFF } from '../../src/telemetry/index.ts';
import { agentId, buildChain, type ChainFixture, ISSUER } from './chains.ts';

export interface FakeRequestInit {
  readonly method?: string;
  readonly url?: string;
  /** Header lines by name; an array is a header sent several times. */
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | Buffer;
  readonly encrypted?: boolean;
}

/** A request as node:http hands it to a handler, with `pulled()` counting body chunks read. */
export function fakeRequest(init: FakeRequestInit = {}): IncomingMessage & { pulled(): number } {
  const headers: Record<string, string> = {};
  const distinct: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    const lines = Array.isArray(value) ? value : [value];
    distinct[name.toLowerCase()] = lines;
    headers[name.toLowerCase()] = lines.join(', ');
  }
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  let pulled = 0;
  const req = {
    method: init.method ?? 'GET',
    url: init.url ?? '/',
    httpVersion: '1.1',
    headers,
    headersDistinct: distinct,
    socket: { encrypted: init.encrypted === true },
    async *[Symbol.asyncIterator]() {
      if (body === undefined) return;
      pulled++;
      yield body;
    },
    pulled: () => pulled,
  };
  return req as unknown as IncomingMessage & { pulled(): number };
}

/** A response that records its status, headers, body and interim `100 Continue`. */
export function fakeResponse(): ServerResponse & {
  readonly written: { status?: number; headers?: Record<string, unknown>; body: string; continued: number };
} {
  const written = { body: '', continued: 0 } as {
    status?: number;
    headers?: Record<string, unknown>;
    body: string;
    continued: number;
  };
  const res = {
    written,
    headersSent: false,
    writeContinue() {
      written.continued++;
    },
    writeHead(status: number, headers: Record<string, unknown>) {
      written.status = status;
      written.headers = headers;
      res.headersSent = true;
      return res;
    },
    end(text?: string) {
      written.body += text ?? '';
      return res;
    },
  };
  return res as unknown as ServerResponse & { readonly written: typeof written };
}

/** A policy that answers `decision` for every call and counts the questions. */
export function fakePolicy(decision: 'allow' | 'deny' = 'allow'): PolicySet & { asked: number } {
  const policy = {
    version: 'test-policy-1',
    asked: 0,
    authorize() {
      policy.asked++;
      return { decision, reasons: [`test-${decision}`], errors: [], policyVersion: 'test-policy-1' };
    },
  };
  return policy as unknown as PolicySet & { asked: number };
}

export const TOOL = 'https://tools.warrant.test/crm';
export const HOST = 'gw.warrant.test';

/** A chain of three warrants whose leaf (held by agent 2) is addressed to agent 3: the route's audience. */
export const fixture: ChainFixture = buildChain(3);
export const LEAF = fixture.tokens[2]!;
export const AUDIENCE = agentId(3);

export const ROUTE: GatewayRoute = {
  match: { pathPrefix: '/crm' },
  upstream: 'http://127.0.0.1:9/api',
  audience: AUDIENCE,
  protocol: 'http',
  allowedHosts: [HOST],
};

/** Headers presenting the fixture's leaf with a fresh DPoP proof for `method` on `http://HOST<path>`. */
export function presenting(method: string, path: string, token = LEAF): Record<string, string> {
  const proof = createDpopProof({
    key: fixture.agents[2]!.key,
    htm: method,
    htu: `http://${HOST}${path}`,
    accessToken: token,
    now: fixture.now,
  });
  return { host: HOST, authorization: `DPoP ${token}`, dpop: proof };
}

export type FakeServices = GatewayServices & {
  readonly log: MemoryDecisionLog;
  readonly counted: string[];
  readonly appends: boolean[];
  trustAsked: number;
};

/** The fake gateway's Transaction Token key (one per test process). */
export const TXN_TOKEN_KEY = generateSigningKey('EdDSA');

export function fakeServices(overrides: Partial<GatewayServices> = {}): FakeServices {
  const log = new MemoryDecisionLog();
  const counted: string[] = [];
  const appends: boolean[] = [];
  const services: FakeServices = {
    id: 'gw-test',
    issuer: ISSUER,
    limits: { maxBodyBytes: 1024, upstreamTimeoutMs: 2000 },
    publicUrl: `http://${HOST}`,
    keys: () => fixture.keys.resolve,
    replay: new MemoryReplayCache(),
    revocation: { has: () => true, ensure: async () => {}, check: () => 'valid' },
    decisions: log,
    chainCache: new ChainCache(),
    decisionCache: new DecisionCache(),
    callCache: new CallDecisionCache(),
    now: () => fixture.now,
    trustLevel: () => {
      services.trustAsked++;
      return 2;
    },
    route: (_host, path) => (path === '/crm' || path.startsWith('/crm/') ? ROUTE : undefined),
    allowedHosts: () => [{ name: HOST }],
    answerResourceMetadata: (res) => void res.writeHead(200, {}).end('{"metadata":true}'),
    pool: () => {
      throw new Error('no upstream in this test');
    },
    metrics: {
      decision: (outcome, code) => void counted.push(code === undefined ? outcome : `${outcome}:${code}`),
    },
    appended: (ok) => void appends.push(ok),
    txnTokenKey: TXN_TOKEN_KEY,
    guard: undefined,
    guardConfig: defaultConfig().guard,
    log,
    counted,
    appends,
    trustAsked: 0,
    ...overrides,
  };
  return services;
}

export interface FakeCallInit extends FakeRequestInit {
  readonly services?: FakeServices;
  readonly catalog?: readonly CatalogAction[] | ActionCatalog;
  readonly policy?: PolicySet;
}

/** A `GatewayCall` over a fake request and response and fake services. */
export function fakeCall(init: FakeCallInit = {}) {
  const services = init.services ?? fakeServices();
  const req = fakeRequest(init);
  const res = fakeResponse();
  const catalog =
    init.catalog instanceof ActionCatalog ? init.catalog : new ActionCatalog(init.catalog ?? []);
  const call = new GatewayCall(services, req, res, {
    catalog,
    policy: init.policy ?? fakePolicy(),
    trace: TRACING_OFF.traceContextFor(req.headers),
  });
  return { call, req, res, services };
}
