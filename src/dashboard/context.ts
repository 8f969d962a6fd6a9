/** What the dashboard's operations need from the control plane (src/runtime/control-plane.ts builds it). */
import type { WarrantConfig } from '../config/types.ts';
import type { GatewayRoute } from '../gateway/context.ts';
import type { LedgerReader } from '../guard/contain/ledger-reader.ts';
import type { GuardRuntime } from '../guard/runtime.ts';
import type { Sts } from '../sts/sts.ts';
import type { DecisionFeed } from './decision-feed.ts';
import type { DevIdp } from './dev-idp.ts';
import type { SessionStore } from './sessions.ts';
import type { PersonSignIn } from './sign-in-person.ts';

export interface DashboardContext {
  readonly config: WarrantConfig;
  readonly sts: Sts;
  readonly guard: GuardRuntime;
  readonly ledger: LedgerReader;
  /** The routes the gateways enforce (their pinned tools). */
  readonly routes: () => readonly GatewayRoute[];
  /** The admin credential: operators sign in with it; the dashboard calls the admin API with it. */
  readonly adminToken: string | undefined;
  /** Where this control plane itself is reached (the admin API's operations are called there). */
  readonly selfUrl: () => string;
  /** The public origin of the control plane (its issuer), for the OIDC redirect and the Origin check. */
  readonly publicUrl: () => string;
  /** The built front-end (index.html and assets/). */
  readonly assetsDir: string;
  readonly sessions: SessionStore;
  readonly feed: DecisionFeed;
  /** Persons' sign-in (absent: operators only). */
  readonly personSignIn: PersonSignIn | undefined;
  /** `warrant dev`'s identity provider (persons pick who they are; dev only). */
  readonly devIdp: DevIdp | undefined;
}
