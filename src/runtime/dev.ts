/**
 * `warrant dev`: everything in one process — the control plane (STS, admin API) and one gateway replica
 * that trusts it through its in-process key set, the gateway owning the ledger (single writer), each
 * with its own hot state in memory (or Redis, by the one rule), and optionally the demo.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WarrantConfig } from '../config/types.ts';
import { demoConfig } from '../demo/demo-config.ts';
import type { DemoWorld } from '../demo/demo-world.ts';
import type { DemoResult } from '../demo/run-demo.ts';
import { openGuardRuntime } from '../guard/runtime.ts';
import type { Logger } from '../telemetry/index.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { type DataPlane, loadCatalog, startDataPlane } from './data-plane.ts';

export interface DevOptions {
  /** The admin credential; absent: read from `<dataDir>/admin-token`, created (0600) on first run. */
  readonly adminToken?: string;
  /** Also run the demo story (docs in README "What you just saw"); its txn breaker cap is lowered. */
  readonly demo?: boolean;
  /** Told each line of the demo's story as it is narrated. */
  readonly onDemoLine?: (line: string) => void;
  /** The STS logger (default: `createLogger({ service: 'sts' })`, by the CLI's settings). */
  readonly logger?: Logger;
  /** Told what dev did that its user should know (the admin token file it created). */
  readonly onNotice?: (line: string) => void;
}

export interface Dev {
  readonly controlPlane: ControlPlane;
  readonly dataPlane: DataPlane;
  /** What the demo narrated, when it ran. */
  readonly demoLines: readonly string[];
  /** The transaction the demo's story ran in, when it ran. */
  readonly demoTxn?: string;
  /** The demo's world (agents, upstreams, alice), when it ran: tests drive it on. */
  readonly demoWorld?: DemoWorld;
  /** Stops the demo, the gateway, then the control plane. Idempotent. */
  close(): Promise<void>;
}

/** A part of `warrant dev` that failed to start, with the address it was to listen on (the cause says why). */
export class PartStartError extends Error {
  readonly part: 'sts' | 'gateway';
  readonly host: string;
  readonly port: number;

  constructor(part: 'sts' | 'gateway', host: string, port: number, cause: unknown) {
    super(`cannot start the ${part} on ${host}:${port}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.name = 'PartStartError';
    this.part = part;
    this.host = host;
    this.port = port;
  }
}

/**
 * Starts the control plane, then the gateway trusting it. A part that fails to start rejects with a
 * {@link PartStartError} naming it, after whatever had started is closed.
 */
export async function startDev(given: WarrantConfig, options: DevOptions = {}): Promise<Dev> {
  const withDemo = options.demo ? demoConfig(given) : given;
  // `warrant dev` is a development setup: its identity provider lets persons sign in (the demo's alice, the
  // dashboard's persons).
  const config: WarrantConfig = { ...withDemo, sts: { ...withDemo.sts, devUserIssuer: { enabled: true } } };
  const adminToken = options.adminToken || devAdminToken(config.dataDir, options.onNotice);
  // One guard runtime for both planes: two SQLite connections on one thread could wait on each other's locks.
  const guard = await openGuardRuntime(config);
  let controlPlane: ControlPlane;
  // Containment sees what the gateway beside it enforces (its routes and catalog, reloads included).
  let gateway: DataPlane | undefined;
  try {
    controlPlane = await startControlPlane(config, {
      adminToken,
      guard,
      gatewayView: {
        routes: () => gateway?.replica.gateway.routes ?? config.gateway.routes,
        catalog: () => gateway?.replica.gateway.catalog ?? loadCatalog(config),
      },
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (error) {
    await guard.close();
    throw new PartStartError('sts', config.sts.listen.host, config.sts.listen.port, error);
  }
  const { sts } = controlPlane;
  let dataPlane: DataPlane;
  try {
    dataPlane = await startDataPlane(config, {
      issuer: sts.issuer,
      keys: () => sts.keys.keySet(sts.clock()).resolve,
      guard,
    });
    gateway = dataPlane;
  } catch (error) {
    await controlPlane.close();
    await guard.close();
    throw new PartStartError('gateway', config.gateway.listen.host, config.gateway.listen.port, error);
  }
  let demo: DemoResult | undefined;
  if (options.demo) {
    try {
      const { runDemo } = await import('../demo/run-demo.ts');
      demo = await runDemo({
        plane: controlPlane,
        gateway: dataPlane.replica,
        trustDomain: config.trustDomain,
        adminToken,
        dataDir: config.dataDir,
        ...(options.onDemoLine ? { onLine: options.onDemoLine } : {}),
      });
      // The containment's records wait in the guard store's inbox: write them now, so the ledger holds the
      // whole story when its closing commands are run (and when --demo-exit stops at once).
      await dataPlane.drain?.drain();
    } catch (error) {
      await dataPlane.close();
      await controlPlane.close();
      await guard.close();
      throw error;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    controlPlane,
    dataPlane,
    demoLines: demo?.lines ?? [],
    ...(demo ? { demoTxn: demo.txn, demoWorld: demo.world } : {}),
    close() {
      closing ??= (async () => {
        await demo?.close();
        await dataPlane.close();
        await controlPlane.close();
        await guard.close();
      })();
      return closing;
    },
  };
}

/** The admin credential kept in `<dataDir>/admin-token` (0600, random), created when missing. */
export function devAdminToken(dataDir: string, onNotice?: (line: string) => void): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'admin-token');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  onNotice?.(`created an admin token in ${path} (use it as a Bearer credential for /admin)`);
  return token;
}
