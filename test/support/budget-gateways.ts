/**
 * For the budget tests: one STS and any number of gateways in front of one payments upstream, each
 * gateway with its own guard runtime over a guard store the test chooses (the STS's SQLite file, or a
 * PostgreSQL schema shared by several gateways) — so a test can restart a gateway, or run two at once
 * against the same spent amounts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BudgetConfig, WarrantConfig } from '../../src/config/types.ts';
import type { GatewayRoute } from '../../src/gateway/gateway.ts';
import { type RunningGateway, startGateway } from '../../src/gateway/start-gateway.ts';
import { ActionCatalog, type CatalogAction } from '../../src/guard/catalog.ts';
import { type GuardRuntime, openGuardRuntime } from '../../src/guard/runtime.ts';
import type { GuardStore } from '../../src/guard/store/open-guard-store.ts';
import { type DecisionLog, MemoryDecisionLog } from '../../src/ledger/decision-log.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { listen } from './gateway-harness.ts';
import { type Harness, startHarness } from './sts-harness.ts';

export interface BudgetGateway {
  readonly gw: RunningGateway;
  readonly guard: GuardRuntime;
  readonly decisions: MemoryDecisionLog;
  /** What the gateway records into (`decisions` unless the test gave its own). */
  readonly log: DecisionLog;
  /** POSTs `body` (JSON) to `path` as `client` presenting `warrant`, with a fresh DPoP proof. */
  post(client: AgentClient, warrant: string, path: string, body: unknown): Promise<Response>;
  close(): Promise<void>;
}

export interface BudgetWorld {
  readonly sts: Harness;
  readonly config: WarrantConfig;
  /**
   * A gateway over `store` (default: the configuration's store, the STS's `<dataDir>/guard.db`), recording
   * into `decisions` (default a new in-memory log).
   */
  gateway(store?: GuardStore, decisions?: DecisionLog): Promise<BudgetGateway>;
  /** A root warrant alice → `actor`, addressed to `audience`, for `grants`. */
  warrant(actor: AgentClient, audience: string, grants: object[], person?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startBudgetWorld(options: {
  budgets: BudgetConfig[] | object[];
  catalog: CatalogAction[];
  upstream: (req: IncomingMessage, res: ServerResponse) => void;
  routes: (upstream: string) => GatewayRoute[];
}): Promise<BudgetWorld> {
  const sts = await startHarness({ overrides: { guard: { budgets: options.budgets as BudgetConfig[] } } });
  const { server, url } = await listen(options.upstream);
  const config = {
    ...sts.config,
    gateway: { ...sts.config.gateway, listen: { host: '127.0.0.1', port: 0 }, routes: options.routes(url) },
  } as WarrantConfig;
  const open = new Set<BudgetGateway>();
  return {
    sts,
    config,
    async gateway(store, log) {
      const guard = await openGuardRuntime(config, { pollMs: 0, ...(store ? { store } : {}) });
      const decisions = new MemoryDecisionLog();
      const gw = await startGateway(config, {
        issuer: sts.plane.sts.issuer,
        keys: () => sts.plane.sts.keys.keySet(Math.floor(Date.now() / 1000)).resolve,
        decisions: log ?? decisions,
        catalog: new ActionCatalog(options.catalog),
        guard,
        logger: createLogger({ service: 'gateway', level: 'silent' }),
      });
      const gateway: BudgetGateway = {
        gw,
        guard,
        decisions,
        log: log ?? decisions,
        post(client, warrant, path, body) {
          const target = `${gw.url}${path}`;
          return fetch(target, {
            method: 'POST',
            headers: {
              authorization: `DPoP ${warrant}`,
              dpop: client.dpopProof('POST', target, warrant),
              'content-type': 'application/json',
            },
            body: JSON.stringify(body),
          });
        },
        async close() {
          open.delete(gateway);
          await gw.close();
          await guard.close();
        },
      };
      open.add(gateway);
      return gateway;
    },
    async warrant(actor, audience, grants, person = 'alice') {
      const r = await actor.exchange({
        subjectToken: sts.idToken(person, actor),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience,
        grants: grants as never,
      });
      return r.access_token;
    },
    async close() {
      for (const g of [...open]) await g.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await sts.close();
    },
  };
}
