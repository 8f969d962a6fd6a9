/**
 * The guard's admin endpoints, under `/admin/` behind the admin credential of the control plane (each part's
 * endpoints in their own file here). They change the guard's store; the gateways learn of changes through
 * the store's change feed.
 */
import { defaultConfig } from '../../config/load-config.ts';
import type { GuardConfig } from '../../config/types.ts';
import type { AdminExtension } from '../../sts/admin-input.ts';
import type { ContainContext } from '../contain/context.ts';
import type { GuardRuntime } from '../runtime.ts';
import { approvalsAdmin } from './approvals.ts';
import { autonomyAdmin } from './autonomy.ts';
import { breakersAdmin } from './breakers.ts';
import { budgetsAdmin } from './budgets.ts';
import { containAdmin } from './contain.ts';
import { toolsAdmin } from './tools.ts';
import { trustAdmin } from './trust.ts';

/**
 * `contain`: what containment needs beyond the guard (the STS, the routes, the catalog, the ledger); absent
 * in harnesses that run the guard alone, and then `/admin/contain` is not served.
 */
export function guardAdmin(
  guard: GuardRuntime,
  config: GuardConfig = defaultConfig().guard,
  contain?: ContainContext,
): readonly AdminExtension[] {
  return [
    approvalsAdmin(guard, config),
    toolsAdmin(guard),
    breakersAdmin(guard),
    budgetsAdmin(guard),
    trustAdmin(guard),
    autonomyAdmin(guard),
    ...(contain ? [containAdmin(contain)] : []),
  ];
}
