/**
 * A real local cluster for the cluster and fault tests: its own PostgreSQL (initdb + pg_ctl in a temp
 * directory, own port) and its own redis-server (own port) — the shared services are never touched — one
 * configuration file, and `startCluster` (src/cluster/launcher.ts) running 2 control planes and 2 gateways
 * as child processes (`warrant serve`, `warrant gateway`) behind their fronts. An HTTP upstream (`/crm/…`)
 * in this process; a person identity provider whose key the STS trusts from a JWKS file; agents registered
 * through the admin API; DPoP calls straight to one gateway replica or through the front.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Cluster, type Member, startCluster } from '../../src/cluster/launcher.ts';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { CRM_READ } from './catalog-actions.ts';
import { OwnPostgres } from './own-postgres.ts';
import { freePort, OwnRedis } from './redis-server.ts';

export const TRUST_DOMAIN = 'cluster.test';
export const PERSON_ISSUER = 'https://idp.cluster.test';
export const ADMIN_TOKEN = 'cluster-admin-token-0123456789';
export const CRM = 'https://tools.cluster.test/crm';

export interface ClusterWorldOptions {
  /** Merged into the configuration file (shallow per top-level section). */
  readonly config?: Record<string, Record<string, unknown>>;
  /** Pause before a replica that exited is restarted (default 500 ms). */
  readonly restartDelayMs?: number;
  /** Replicas of each plane (default 2). */
  readonly replicas?: number;
}

export interface ClusterWorld {
  readonly cluster: Cluster;
  readonly pg: OwnPostgres;
  readonly redis: OwnRedis;
  readonly dir: string;
  readonly configFile: string;
  /** Every line the replicas wrote, as `name stream line`. */
  readonly lines: string[];
  /** The upstream's request count. */
  readonly hits: { n: number };
  member(name: string): Member;
  admin(method: string, path: string, body?: unknown, base?: string): Promise<Response>;
  /** Registers an agent allowed to address the CRM tool. */
  agent(name: string): Promise<AgentClient>;
  /** A root warrant for the CRM tool, from a person's ID token (exchanged through the STS front). */
  warrant(agent: AgentClient, stsUrl?: string): Promise<string>;
  /** GET /crm/… at `base` (a replica's URL or the front) with a fresh DPoP proof for that URL (the proof names the Host addressed). */
  call(base: string, agent: AgentClient, warrant: string, path?: string): Promise<Response>;
  close(): Promise<void>;
}

/** The DPoP and client-assertion clock tolerance (5 s), and a second more. */
const REPLAY_TOLERANCE_MS = 6000;

export async function startClusterWorld(options: ClusterWorldOptions = {}): Promise<ClusterWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-cluster-'));
  // Redis first: a fresh Redis has no memory before its start, so the replay store refuses (as after a
  // restart: WARRANT_REPLAY_STATE_LOST) every DPoP proof or client assertion that may have been usable
  // before then — up to the 5 s clock tolerance before its `iat`. The world is handed out once that window
  // has passed (PostgreSQL's start takes most of it).
  const redisStarted = Date.now();
  const redis = await OwnRedis.start();
  const pg = await OwnPostgres.start().catch(async (error: unknown) => {
    await redis.kill();
    throw error;
  });
  const hits = { n: 0 };
  const upstream: Server = createServer((req, res) => {
    hits.n++;
    req.resume();
    // The gateway's decision id (the `warrant-decision` header it forwards) comes back in the answer, so a
    // test knows which ledger record each acknowledged call must have.
    const decision = req.headers['warrant-decision'];
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, decision })),
    );
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const idp: SigningKey = generateSigningKey('ES256');
  const jwksFile = join(dir, 'idp-jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...idp.jwk }] }));
  const catalogFile = join(dir, 'catalog.json');
  writeFileSync(catalogFile, JSON.stringify({ actions: [CRM_READ] }));
  const [stsPort, gwPort] = [await freePort(), await freePort()];
  const stsUrl = `http://127.0.0.1:${stsPort}`;
  const gatewayUrl = `http://127.0.0.1:${gwPort}`;
  const extra = options.config ?? {};
  const config = {
    trustDomain: TRUST_DOMAIN,
    dataDir: join(dir, 'data'),
    ...extra['root'],
    store: { kind: 'postgres', url: pg.url },
    redis: { url: redis.url, ...extra['redis'] },
    ledger: { mode: 'replicated', integrateMs: 100, leaseMs: 2000, ...extra['ledger'] },
    sts: {
      listen: { host: '127.0.0.1', port: stsPort },
      issuer: stsUrl,
      trustedIssuers: [
        { issuer: PERSON_ISSUER, jwksFile, audience: 'warrant-sts', kind: 'oidc', assertions: ['id_token'] },
      ],
      ...extra['sts'],
    },
    gateway: {
      listen: { host: '127.0.0.1', port: gwPort },
      issuer: stsUrl,
      publicUrl: gatewayUrl,
      replayCache: 'redis',
      statusStalenessSeconds: 3,
      routes: [{ match: { pathPrefix: '/crm' }, upstream: upstreamUrl, audience: CRM, protocol: 'http' }],
      ...extra['gateway'],
    },
    guard: { catalog: catalogFile, ...extra['guard'] },
  };
  const configFile = join(dir, 'warrant.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const lines: string[] = [];
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      configFile,
      replicas: options.replicas ?? 2,
      env: { WARRANT_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' },
      restartDelayMs: options.restartDelayMs ?? 500,
      stopTimeoutMs: 5000,
      onLine: (name, stream, line) => {
        lines.push(`${name} ${stream} ${line}`);
        if (lines.length > 20_000) lines.splice(0, 10_000);
      },
      onEvent: (message) => lines.push(`launcher ${message}`),
    });
  } catch (error) {
    upstream.close();
    await redis.kill();
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the cluster did not start: ${(error as Error).message}\n${lines.slice(-30).join('\n')}`);
  }
  const admin = (method: string, path: string, body?: unknown, base = cluster.stsUrl) =>
    fetch(`${base}/admin${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const fresh = redisStarted + REPLAY_TOLERANCE_MS - Date.now();
  if (fresh > 0) await new Promise((resolve) => setTimeout(resolve, fresh));
  return {
    cluster,
    pg,
    redis,
    dir,
    configFile,
    lines,
    hits,
    member(name) {
      const found = cluster.members.find((m) => m.name === name);
      if (!found) throw new Error(`no member ${name}`);
      return found;
    },
    admin,
    async agent(name) {
      const key = generateSigningKey();
      const response = await admin('POST', '/agents', {
        name,
        owner: 'alice@example.org',
        tier: 'planner',
        publicJwk: key.jwk,
        clientIds: { [PERSON_ISSUER]: `${name}-app` },
        allowedAudiences: ['https://tools.cluster.test/*'],
      });
      if (response.status !== 201)
        throw new Error(`agent registration failed: ${response.status} ${await response.text()}`);
      return new AgentClient({
        issuer: cluster.stsUrl,
        agentId: `spiffe://${TRUST_DOMAIN}/agent/${name}`,
        key,
      });
    },
    async warrant(agent) {
      const now = Math.floor(Date.now() / 1000);
      const name = agent.agentId.split('/').at(-1)!;
      const idToken = signCompact(
        { typ: 'JWT' },
        {
          iss: PERSON_ISSUER,
          sub: 'alice',
          aud: `${name}-app`,
          iat: now,
          exp: now + 300,
          nonce: randomUUID(),
        },
        idp,
      );
      const r = await agent.exchange({
        subjectToken: idToken,
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: CRM,
        grants: [{ action: 'tools:*', resource: `${CRM}*` }] as never,
      });
      return r.access_token;
    },
    call(base, agent, warrant, path = '/crm/contacts') {
      return fetch(`${base}${path}`, {
        headers: {
          authorization: `DPoP ${warrant}`,
          dpop: agent.dpopProof('GET', `${base}${path}`, warrant),
        },
        signal: AbortSignal.timeout(10_000),
      });
    },
    async close() {
      await cluster.stop();
      await new Promise((r) => upstream.close(r));
      upstream.closeAllConnections();
      await redis.kill();
      pg.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
