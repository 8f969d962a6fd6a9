/**
 * A running gateway in front of a real upstream, trusting a running STS: for integration tests of the
 * gateway. Decisions are kept in memory so tests can assert what was recorded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import type { ConfigOverrides, WarrantConfig } from '../../src/config/types.ts';
import type { GatewayRoute } from '../../src/gateway/gateway.ts';
import { type RunningGateway, startGateway } from '../../src/gateway/start-gateway.ts';
import { ActionCatalog, type CatalogAction } from '../../src/guard/catalog.ts';
import type { GuardRuntime } from '../../src/guard/runtime.ts';
import { MemoryDecisionLog } from '../../src/ledger/decision-log.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { createLogger, type Tracing } from '../../src/telemetry/index.ts';
import { type Harness, type HarnessOptions, startHarness } from './sts-harness.ts';

export interface GatewayHarness {
  readonly sts: Harness;
  readonly gw: RunningGateway;
  readonly decisions: MemoryDecisionLog;
  /** Calls the gateway as `client`, presenting `warrant` (and optionally a full chain) with a fresh DPoP proof. */
  call(
    client: AgentClient,
    warrant: string,
    path: string,
    init?: { method?: string; body?: string; headers?: Record<string, string>; chain?: string[] },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function startGatewayHarness(options: {
  routes: (upstreams: Record<string, string>) => GatewayRoute[];
  upstreams: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  catalog: CatalogAction[];
  sts?: HarnessOptions;
  overrides?: ConfigOverrides;
  /**
   * The issuer URL the gateway fetches status lists and the revocation feed from (default: the STS's
   * issuer) — e.g. a fault-injecting proxy in front of the STS.
   */
  issuer?: (sts: Harness) => string;
  /** Where the gateway's log lines go (level `info`); without it the gateway logs nothing (quiet tests). */
  logs?: DestinationStream;
  /** The gateway's tracing (e.g. `createTracing({service: 'gateway', exporter: 'memory'})`); default off. */
  tracing?: Tracing;
  /** The gateway's guard runtime (e.g. the control plane's, `(sts) => sts.plane.guard`); default none. */
  guard?: (sts: Harness) => GuardRuntime;
  /** Opens the gateway's own guard runtime over the STS's configuration (closed with the harness). */
  openGuard?: (config: WarrantConfig) => Promise<GuardRuntime>;
  /** Give the gateway the control plane's guard runtime (one process, as `warrant dev` does). */
  sharedGuard?: boolean;
  /** Told each step's wall time (see `GatewayOptions.stepTimer`); default none. */
  stepTimer?: (step: string, micros: number) => void;
}): Promise<GatewayHarness> {
  const sts = await startHarness(options.sts);
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  for (const [name, handler] of Object.entries(options.upstreams)) {
    const { server, url } = await listen(handler);
    servers.push(server);
    urls[name] = url;
  }
  const decisions = new MemoryDecisionLog();
  const config = {
    ...sts.config,
    gateway: {
      ...sts.config.gateway,
      listen: { host: '127.0.0.1', port: 0 },
      routes: options.routes(urls),
      ...options.overrides?.gateway,
    },
  };
  const opened = await options.openGuard?.(config as WarrantConfig);
  const guard = opened ?? options.guard?.(sts);
  const gw = await startGateway(config as typeof sts.config, {
    ...(guard ? { guard } : {}),
    issuer: options.issuer?.(sts) ?? sts.plane.sts.issuer,
    keys: () => sts.plane.sts.keys.keySet(Math.floor(Date.now() / 1000)).resolve,
    decisions,
    catalog: new ActionCatalog(options.catalog),
    logger: createLogger({
      service: 'gateway',
      level: options.logs ? 'info' : 'silent',
      ...(options.logs ? { destination: options.logs } : {}),
    }),
    ...(options.tracing ? { tracing: options.tracing } : {}),
    ...(options.sharedGuard ? { guard: sts.plane.guard } : {}),
    ...(options.stepTimer ? { stepTimer: options.stepTimer } : {}),
  });
  return {
    sts,
    gw,
    decisions,
    call(client, warrant, path, init = {}) {
      const method = init.method ?? 'GET';
      const url = `${gw.url}${path}`;
      const htu = url.split('?')[0]!;
      return fetch(url, {
        method,
        headers: {
          authorization: `DPoP ${warrant}`,
          dpop: client.dpopProof(method, htu, warrant),
          ...(init.chain ? { 'warrant-chain': init.chain.join(', ') } : {}),
          ...(init.body ? { 'content-type': 'application/json' } : {}),
          ...init.headers,
        },
        ...(init.body ? { body: init.body } : {}),
      });
    },
    async close() {
      await gw.close();
      await opened?.close();
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
      await sts.close();
    },
  };
}
