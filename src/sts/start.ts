import { chmodSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { WarrantConfig } from '../config/types.ts';
import {
  DEFAULT_SCHEMA_FILE,
  loadDefaultPolicySet,
  loadPolicyFiles,
  type PolicySet,
} from '../policy/index.ts';
import { MemoryReplayCache, RedisReplayCache, type ReplayCache, redisTimeouts } from '../replay/index.ts';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/ports.ts';
import { RevocationBus } from './revocation-bus.ts';
import { SERVER_OPTIONS, stsRequestHandler } from './server.ts';
import { KeyVault } from './signing-keys.ts';
import { Sts } from './sts.ts';

export interface ControlPlane {
  readonly url: string;
  readonly sts: Sts;
  readonly server: Server;
  readonly store: Store;
  /** Revocations to and from the other replicas (when `redis` is configured). */
  readonly bus: RevocationBus | undefined;
  close(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Admin bearer credential (from the environment variable named by `admin.tokenEnv`). */
  readonly adminToken?: string;
  /** A store opened by the caller (tests); otherwise opened from the configuration. */
  readonly store?: Store;
  readonly clock?: () => number;
  readonly onError?: (error: unknown) => void;
}

/** The delegation policy from the configured files, or the shipped defaults. */
export function policyLoader(config: WarrantConfig): () => PolicySet {
  const { delegation, schema } = config.policy;
  if (delegation === undefined) return () => loadDefaultPolicySet({ name: 'delegation' });
  return () => loadPolicyFiles(delegation, schema ?? DEFAULT_SCHEMA_FILE, { name: 'delegation' });
}

/** Opens the configured store: `<dataDir>/warrant.db` (SQLite, 0600 in a 0700 directory) or PostgreSQL. */
export async function openConfiguredStore(config: WarrantConfig): Promise<Store> {
  if (config.store.kind === 'postgres') return openStore({ kind: 'postgres', url: config.store.url! });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  return openStore({ kind: 'sqlite', path: join(config.dataDir, 'warrant.db') });
}

/**
 * Starts the control plane (STS, and later ledger and dashboard) on the configured listener. The issuer is
 * `sts.issuer` when configured, else the URL actually listened on.
 */
export async function startControlPlane(
  config: WarrantConfig,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  const store = options.store ?? (await openConfiguredStore(config));
  const loadPolicy = policyLoader(config);
  let policy: PolicySet;
  try {
    policy = loadPolicy();
  } catch (error) {
    if (!options.store) await store.close();
    throw error;
  }
  const vault = new KeyVault(store.keys, process.env['WARRANT_KEY_ENCRYPTION_KEY']);
  const keys = await vault.load(config.sts.algorithms[0] ?? 'EdDSA', clock());
  const dpopReplay: ReplayCache = config.redis
    ? new RedisReplayCache(config.redis.url, redisTimeouts(config))
    : new MemoryReplayCache();
  const server = createServer(SERVER_OPTIONS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.sts.listen.port, config.sts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const sts = new Sts({
    config,
    issuer: config.sts.issuer ?? url,
    store,
    keys,
    policy,
    dpopReplay,
    clock,
    vault,
    loadPolicy,
  });
  // Subscribed before the first request, so no feed client misses another replica's revocation.
  let bus: RevocationBus | undefined;
  if (config.redis) {
    try {
      bus = await RevocationBus.start(sts, config.redis.url, {
        ...redisTimeouts(config),
        ...(options.onError ? { onError: options.onError } : {}),
      });
      const relay = bus;
      sts.feedCompleteSince = () => relay.completeSince;
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dpopReplay.close?.();
      if (!options.store) await store.close();
      throw error;
    }
  }
  server.on(
    'request',
    stsRequestHandler(sts, {
      ...(options.adminToken ? { adminToken: options.adminToken } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    }),
  );
  return {
    url,
    sts,
    server,
    store,
    bus,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bus?.close();
      await dpopReplay.close?.();
      if (!options.store) await store.close();
    },
  };
}
