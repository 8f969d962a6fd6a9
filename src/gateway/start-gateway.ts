import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { WarrantConfig } from '../config/types.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import { ActionCatalog } from '../guard/catalog.ts';
import { type DecisionLog, FileDecisionLog } from '../ledger/decision-log.ts';
import {
  DEFAULT_POLICY_FILES,
  DEFAULT_SCHEMA_FILE,
  loadPolicyFiles,
  type PolicySet,
} from '../policy/index.ts';
import { MemoryReplayCache, RedisReplayCache, type ReplayCache } from '../replay/index.ts';
import { Gateway } from './gateway.ts';
import { RemoteKeys, RevocationView } from './trust.ts';

export interface RunningGateway {
  readonly url: string;
  readonly gateway: Gateway;
  readonly server: Server;
  readonly revocation: RevocationView;
  close(): Promise<void>;
}

export interface GatewayStartOptions {
  /** The STS issuer (URL); its JWKS, status lists and revocation feed are used. */
  readonly issuer: string;
  /** In-process key set (warrant dev); otherwise the issuer's JWKS is fetched. */
  readonly keys?: () => KeyResolver;
  readonly decisions?: DecisionLog;
  readonly catalog?: ActionCatalog;
  readonly policy?: PolicySet;
  readonly replay?: ReplayCache;
  readonly clock?: () => number;
}

/** The per-call action policy: the configured file, or the shipped defaults. */
export function loadActionPolicy(config: WarrantConfig): PolicySet {
  const files = config.policy.action ? [config.policy.action] : [...DEFAULT_POLICY_FILES];
  return loadPolicyFiles(files, config.policy.schema ?? DEFAULT_SCHEMA_FILE, { name: 'action' });
}

/** The gateway (data plane) as a server: routes from the configuration, health, readiness and metrics. */
export async function startGateway(
  config: WarrantConfig,
  options: GatewayStartOptions,
): Promise<RunningGateway> {
  const issuer = options.issuer.replace(/\/+$/, '');
  let keys = options.keys;
  let remote: RemoteKeys | undefined;
  if (!keys) {
    remote = new RemoteKeys(issuer);
    await remote.refresh();
    keys = () => remote!.resolve;
  }
  const revocation = new RevocationView({
    issuer,
    keys,
    stalenessSeconds: config.gateway.statusStalenessSeconds,
  });
  await revocation.start();
  let decisions = options.decisions;
  if (!decisions) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    decisions = new FileDecisionLog(join(config.dataDir, 'decisions.jsonl'));
  }
  const replay =
    options.replay ??
    (config.gateway.replayCache === 'redis' && config.redis
      ? new RedisReplayCache(config.redis.url)
      : new MemoryReplayCache());
  const gateway = new Gateway({
    id: config.gateway.id ?? `gw-${randomBytes(4).toString('hex')}`,
    issuer,
    keys,
    revocation,
    replay,
    decisions,
    routes: config.gateway.routes,
    catalog:
      options.catalog ??
      (config.guard.catalog ? ActionCatalog.fromFile(config.guard.catalog) : new ActionCatalog([])),
    policy: options.policy ?? loadActionPolicy(config),
    limits: config.gateway.limits,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const server = createServer(
    {
      maxHeaderSize: config.gateway.limits.maxHeaderBytes,
      requestTimeout: 60_000,
      headersTimeout: 10_000,
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      const path = req.url?.split('?')[0];
      if (path === '/healthz')
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      if (path === '/readyz') {
        const ready = revocation.feedConnected;
        return void res
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ready, revocationFeed: ready }));
      }
      if (path === '/metrics') {
        return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(
          gateway.metrics.render({
            chain: gateway.chainCache.chains,
            token: gateway.chainCache.tokens,
            decision: gateway.decisionCache,
          }),
        );
      }
      void gateway.handle(req, res);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.gateway.listen.port, config.gateway.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    gateway,
    server,
    revocation,
    async close() {
      revocation.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
      await replay.close?.();
      if (!options.decisions) await decisions.close();
    },
  };
}
