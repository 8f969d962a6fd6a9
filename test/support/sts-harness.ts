/**
 * A running STS for integration tests: the real HTTP server on loopback, a real store (SQLite in memory by
 * default, or PostgreSQL in a fresh schema), a person identity provider whose ID tokens the STS trusts, and
 * registered agents with their own keys and SDK clients.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigOverrides, TrustedIssuer, WarrantConfig } from '../../src/config/types.ts';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import type { GuardRuntime } from '../../src/guard/runtime.ts';
import { type ControlPlane, startControlPlane } from '../../src/runtime/control-plane.ts';
import { AgentClient } from '../../src/sdk/agent-client.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/ports.ts';
import { createLogger, type Logger, type Metrics, type Tracing } from '../../src/telemetry/index.ts';
import { POSTGRES_URL, requirePostgres } from './services.ts';

export const TRUST_DOMAIN = 'warrant.test';
export const PERSON_ISSUER = 'https://idp.warrant.test';
export const PERSON_AUDIENCE = 'warrant-sts';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const agentIdOf = (name: string) => `spiffe://${TRUST_DOMAIN}/agent/${name}`;
/** The client id every harness agent has at the person issuer: what a person's ID token is addressed to. */
export const clientIdOf = (name: string) => `${name}-app`;
/** The `typ` of an ID-JAG. */
export const ID_JAG_TYP = 'oauth-id-jag+jwt';

/** An agent by its SDK client, its SPIFFE ID, or its name. */
export type AgentRef = AgentClient | string;
const nameOf = (agent: AgentRef): string =>
  (typeof agent === 'string' ? agent : agent.agentId).split('/').at(-1)!;

export interface Harness {
  readonly plane: ControlPlane;
  readonly url: string;
  readonly config: WarrantConfig;
  readonly idpKey: SigningKey;
  /**
   * An ID token for `sub` from the trusted person issuer, addressed to `agent` (its client id there): the
   * only agent it can root a warrant for. `claims` override any claim (`aud: ...` to address another).
   */
  idToken(sub: string, agent: AgentRef, claims?: Record<string, unknown>): string;
  /** An ID-JAG for `sub` from the trusted person issuer: `aud` this STS, `client_id` the agent, a fresh `jti`. */
  idJag(
    sub: string,
    agent: AgentRef,
    claims?: Record<string, unknown>,
    header?: Record<string, unknown>,
  ): string;
  /** Registers an agent through the admin API and returns its SDK client. */
  agent(name: string, metadata?: Record<string, unknown>): Promise<AgentClient>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

/** A logger that writes nothing: tests keep their output quiet (pass a collecting destination to read logs). */
export const quietLogger = (): Logger => createLogger({ service: 'sts', level: 'silent' });

export interface HarnessOptions {
  readonly store?: 'sqlite' | 'postgres';
  /** The STS logger; default {@link quietLogger}. */
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly tracing?: Tracing;
  readonly overrides?: ConfigOverrides;
  /** Trusted issuers added after the harness's own person issuer. */
  readonly extraIssuers?: readonly TrustedIssuer[];
  /** A guard runtime to share with a gateway (as `warrant dev` does); the caller closes it. */
  readonly guard?: GuardRuntime;
}

export { POSTGRES_URL } from './services.ts';

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-sts-'));
  const idpKey = generateSigningKey('ES256');
  const jwksFile = join(dir, 'idp-jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...idpKey.jwk }] }));
  const { sts: stsOverrides, ...rest } = options.overrides ?? {};
  const config = loadConfig(undefined, {
    trustDomain: TRUST_DOMAIN,
    dataDir: join(dir, 'data'),
    ...rest,
    sts: {
      trustedIssuers: [
        {
          issuer: PERSON_ISSUER,
          jwksFile,
          audience: PERSON_AUDIENCE,
          kind: 'oidc',
          assertions: ['id_token', 'id_jag'],
        },
        ...(options.extraIssuers ?? []),
      ],
      ...stsOverrides,
      // A test may fix the port (e.g. two deployments that must know each other's issuer up front).
      listen: { host: '127.0.0.1', port: 0, ...stsOverrides?.listen },
    },
  } as ConfigOverrides);
  let store: Store;
  let schema: string | undefined;
  if (options.store === 'postgres') {
    await requirePostgres();
    schema = `warrant_test_${randomBytes(6).toString('hex')}`;
    store = await openStore({ kind: 'postgres', url: POSTGRES_URL, schema });
  } else {
    store = await openStore({ kind: 'sqlite', path: ':memory:' });
  }
  const plane = await startControlPlane(config, {
    adminToken: ADMIN_TOKEN,
    store,
    logger: options.logger ?? quietLogger(),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
    ...(options.guard ? { guard: options.guard } : {}),
  });
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${plane.url}/admin${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    plane,
    url: plane.url,
    config,
    idpKey,
    idToken(sub, agent, claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      return signCompact(
        { typ: 'JWT' },
        {
          iss: PERSON_ISSUER,
          sub,
          aud: clientIdOf(nameOf(agent)),
          iat: now,
          exp: now + 300,
          nonce: randomUUID(),
          ...claims,
        },
        idpKey,
      );
    },
    idJag(sub, agent, claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      return signCompact(
        { typ: ID_JAG_TYP, ...header },
        {
          iss: PERSON_ISSUER,
          sub,
          aud: plane.url,
          client_id: agentIdOf(nameOf(agent)),
          jti: randomUUID(),
          iat: now,
          exp: now + 300,
          ...claims,
        },
        idpKey,
      );
    },
    async agent(name, metadata = {}) {
      const key = generateSigningKey();
      const response = await admin('POST', '/agents', {
        name,
        owner: 'alice@example.org',
        tier: 'planner',
        publicJwk: key.jwk,
        clientIds: { [PERSON_ISSUER]: clientIdOf(name) },
        ...metadata,
      });
      if (response.status !== 201)
        throw new Error(`agent registration failed: ${response.status} ${await response.text()}`);
      const agentId = `spiffe://${config.trustDomain}/agent/${name}`;
      return new AgentClient({ issuer: plane.sts.issuer, agentId, key });
    },
    admin,
    async close() {
      await plane.close();
      await store.close();
      if (schema) {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
