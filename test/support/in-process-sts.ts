/**
 * The STS in-process, for unit tests beside its endpoints: a real `Sts` (SQLite in memory, the default
 * delegation policy, a fresh signing key, a memory replay cache) and its request handler, called with a fake
 * `IncomingMessage` and `ServerResponse` — no socket, no port. Agents are registered straight in the store.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { loadConfig } from '../../src/config/load-config.ts';
import type { WarrantConfig } from '../../src/config/types.ts';
import { createDpopProof } from '../../src/core/dpop/index.ts';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { SigningKeyRing } from '../../src/core/jose/key-set.ts';
import { loadDefaultPolicySet, type PolicySet } from '../../src/policy/index.ts';
import { MemoryReplayCache } from '../../src/replay/index.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { AgentRecord, Store } from '../../src/store/ports.ts';
import { type StsServerOptions, stsRequestHandler } from '../../src/sts/server.ts';
import { Sts } from '../../src/sts/sts.ts';

export const ISSUER = 'https://sts.warrant.test';
export const TRUST_DOMAIN = 'warrant.test';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const agentIdOf = (name: string): string => `spiffe://${TRUST_DOMAIN}/agent/${name}`;

export interface FakeRequest {
  readonly method?: string;
  /** Path and query. */
  readonly path: string;
  /** A repeated header is an array. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string | Buffer;
  /** Sent as `application/x-www-form-urlencoded`. */
  readonly form?: Readonly<Record<string, string>>;
  /** Sent as `application/json`. */
  readonly json?: unknown;
}

export interface FakeResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The handler destroyed the response instead of answering. */
  readonly destroyed: boolean;
  json(): Record<string, unknown>;
}

/** An `IncomingMessage` as far as the STS reads one: method, url, headers, and the body as a stream. */
export function fakeRequest(request: FakeRequest): IncomingMessage {
  let body = request.body;
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  if (request.form !== undefined) {
    body = new URLSearchParams(request.form as Record<string, string>).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] ??= 'application/json';
  }
  const bytes = body === undefined ? undefined : Buffer.from(body);
  if (bytes !== undefined) headers['content-length'] ??= String(bytes.length);
  const req = Readable.from(bytes === undefined ? [] : [bytes]) as unknown as IncomingMessage;
  Object.assign(req, {
    method: request.method ?? 'GET',
    url: request.path,
    headers: Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, typeof v === 'string' ? v : v.join(', ')]),
    ),
    headersDistinct: Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, typeof v === 'string' ? [v] : [...v]]),
    ),
  });
  return req;
}

/** A `ServerResponse` as far as the STS writes one; `done` settles when the handler ends or destroys it. */
export function fakeResponse(): { res: ServerResponse; done: Promise<FakeResponse> } {
  let settle!: (response: FakeResponse) => void;
  const done = new Promise<FakeResponse>((resolve) => {
    settle = resolve;
  });
  const state = { status: 200, headers: {} as Record<string, string>, chunks: [] as Buffer[] };
  const finish = (destroyed: boolean) => {
    const body = Buffer.concat(state.chunks).toString('utf8');
    settle({
      status: state.status,
      headers: state.headers,
      body,
      destroyed,
      json: () => JSON.parse(body) as Record<string, unknown>,
    });
  };
  const res = {
    headersSent: false,
    writeHead(status: number, headers: Record<string, string | number> = {}) {
      state.status = status;
      for (const [name, value] of Object.entries(headers)) state.headers[name.toLowerCase()] = String(value);
      res.headersSent = true;
      return res;
    },
    write(chunk: string | Buffer) {
      state.chunks.push(Buffer.from(chunk));
      return true;
    },
    end(chunk?: string | Buffer) {
      if (chunk !== undefined) state.chunks.push(Buffer.from(chunk));
      finish(false);
      return res;
    },
    destroy() {
      finish(true);
      return res;
    },
  };
  return { res: res as unknown as ServerResponse, done };
}

/** An agent registered in the store, with its key: it signs client assertions and DPoP proofs. */
export interface TestAgent {
  readonly id: string;
  readonly key: SigningKey;
  readonly record: AgentRecord;
  /** A fresh single-use `private_key_jwt` assertion for this STS. */
  clientAssertion(): string;
  /** `client_assertion_type` and `client_assertion`, beside `params`. */
  authenticated(params?: Record<string, string>): Record<string, string>;
  /** A DPoP proof for `POST <issuer>/token` with a fresh nonce of the STS. */
  dpop(): string;
}

export interface InProcessSts {
  readonly sts: Sts;
  readonly store: Store;
  readonly config: WarrantConfig;
  /** Sends one request through the STS handler. */
  request(request: FakeRequest): Promise<FakeResponse>;
  agent(name: string, overrides?: Partial<AgentRecord>): Promise<TestAgent>;
  close(): Promise<void>;
}

export async function inProcessSts(
  options: StsServerOptions & { readonly policy?: PolicySet } = {},
): Promise<InProcessSts> {
  const config = loadConfig(undefined, { trustDomain: TRUST_DOMAIN });
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  const dpopReplay = new MemoryReplayCache({ sweepIntervalMs: 0 });
  const sts = new Sts({
    config,
    issuer: ISSUER,
    store,
    keys: new SigningKeyRing(generateSigningKey()),
    policy: options.policy ?? loadDefaultPolicySet({ name: 'delegation' }),
    dpopReplay,
  });
  const handler = stsRequestHandler(sts, options);
  return {
    sts,
    store,
    config,
    async request(request) {
      const { res, done } = fakeResponse();
      await handler(fakeRequest(request), res);
      return done;
    },
    async agent(name, overrides = {}) {
      const key = generateSigningKey();
      const record = await store.agents.create({
        id: agentIdOf(name),
        name,
        owner: 'alice@example.org',
        tier: 'planner',
        trustLevel: 2,
        allowedAudiences: [`spiffe://${TRUST_DOMAIN}/*`, 'https://tool.example/*'],
        maxDepth: 4,
        publicJwk: { ...key.jwk },
        jkt: key.kid,
        ...overrides,
      });
      const clientAssertion = () => {
        const now = sts.clock();
        return signCompact(
          { typ: 'JWT' },
          { iss: record.id, sub: record.id, aud: ISSUER, jti: randomUUID(), iat: now, exp: now + 60 },
          key,
        );
      };
      return {
        id: record.id,
        key,
        record,
        clientAssertion,
        authenticated: (params = {}) => ({
          ...params,
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: clientAssertion(),
        }),
        dpop: () =>
          createDpopProof({ key, htm: 'POST', htu: sts.tokenEndpoint, nonce: sts.nonces.issue(sts.clock()) }),
      };
    },
    async close() {
      await dpopReplay.close();
      await store.close();
    },
  };
}
