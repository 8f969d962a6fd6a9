/**
 * Builds the dashboard for a control plane: its sessions, the decision feed, persons' sign-in (the
 * configured OIDC provider, else `warrant dev`'s provider) and where the built front-end is.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WarrantConfig } from '../config/types.ts';
import type { GatewayRoute } from '../gateway/context.ts';
import type { StsRouteExtension } from '../guard/approvals/approver-api.ts';
import type { LedgerReader } from '../guard/contain/ledger-reader.ts';
import type { GuardRuntime } from '../guard/runtime.ts';
import type { Sts } from '../sts/sts.ts';
import type { DashboardContext } from './context.ts';
import { dashboardRoutes } from './dashboard.ts';
import { DecisionFeed } from './decision-feed.ts';
import { DEV_DASHBOARD_CLIENT, type DevIdp } from './dev-idp.ts';
import { SessionStore } from './sessions.ts';
import { personSignIn } from './sign-in-person.ts';

/** The built front-end: `dashboard/dist` beside the sources (src/dashboard), `dist/dashboard` in the package. */
export function defaultAssetsDir(): string {
  const candidates = [
    join(import.meta.dirname, '../../dashboard/dist'),
    join(import.meta.dirname, '../../dashboard'),
  ];
  return candidates.find((c) => existsSync(join(c, 'index.html'))) ?? candidates[0]!;
}

export interface OpenDashboardOptions {
  readonly config: WarrantConfig;
  readonly sts: Sts;
  readonly guard: GuardRuntime;
  readonly ledger: LedgerReader;
  readonly routes: () => readonly GatewayRoute[];
  readonly adminToken: string | undefined;
  readonly selfUrl: string;
  readonly devIdp: DevIdp | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly assetsDir?: string;
}

export interface OpenedDashboard {
  readonly routes: StsRouteExtension;
  readonly context: DashboardContext;
  /** Whether the front-end is built (else /ui answers a page saying how to build it). */
  readonly built: boolean;
  close(): void;
}

export function openDashboard(options: OpenDashboardOptions): OpenedDashboard {
  const { config, sts } = options;
  const env = options.env ?? process.env;
  const publicUrl = () => sts.issuer;
  const redirectUri = `${sts.issuer}/ui/auth/callback`;
  const oidc = config.dashboard.oidc;
  const secret = oidc?.clientSecretEnv === undefined ? undefined : env[oidc.clientSecretEnv];
  options.devIdp?.registerClient(DEV_DASHBOARD_CLIENT, [redirectUri]);
  const signIn = oidc
    ? personSignIn({
        issuer: oidc.issuer,
        clientId: oidc.clientId,
        ...(secret ? { clientSecret: secret } : {}),
        scopes: oidc.scopes,
        redirectUri,
        now: sts.clock,
      })
    : options.devIdp
      ? personSignIn({
          issuer: options.devIdp.issuer,
          clientId: DEV_DASHBOARD_CLIENT,
          scopes: ['openid', 'email'],
          redirectUri,
          now: sts.clock,
          allowHttp: true,
        })
      : undefined;
  const feed = new DecisionFeed(options.ledger);
  const assetsDir = options.assetsDir ?? defaultAssetsDir();
  const context: DashboardContext = {
    config,
    sts,
    guard: options.guard,
    ledger: options.ledger,
    routes: options.routes,
    adminToken: options.adminToken,
    selfUrl: () => options.selfUrl,
    publicUrl,
    assetsDir,
    sessions: new SessionStore(config.dashboard.sessionTtlSeconds, sts.clock),
    feed,
    personSignIn: signIn,
    devIdp: options.devIdp,
  };
  return {
    routes: dashboardRoutes(context),
    context,
    built: existsSync(join(assetsDir, 'index.html')),
    close: () => feed.close(),
  };
}
