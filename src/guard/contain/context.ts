/** What a containment uses: the STS (revocation, tokens, agents), the guard, the routes, the catalog, the ledger. */
import type { GatewayRoute } from '../../gateway/context.ts';
import type { Sts } from '../../sts/sts.ts';
import type { ActionCatalog } from '../catalog.ts';
import type { GuardRuntime } from '../runtime.ts';
import type { LedgerReader } from './ledger-reader.ts';

export interface ContainContext {
  readonly sts: Sts;
  readonly guard: GuardRuntime;
  /** The gateway's routes (`gateway.routes`): a compensation goes to the upstream of its action's route. */
  routes(): readonly GatewayRoute[];
  /** The action catalog: reversibility and compensations. */
  catalog(): ActionCatalog;
  readonly ledger: LedgerReader;
  readonly compensationTimeoutMs: number;
  /** For tests; default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Epoch ms; default `Date.now`. */
  readonly nowMs?: () => number;
}
