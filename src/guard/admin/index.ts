/**
 * The guard's admin endpoints, under `/admin/` behind the admin credential of the control plane (each part's
 * endpoints in their own file here). They change the guard's store; the gateways learn of changes through
 * the store's change feed.
 */
import type { AdminExtension } from '../../sts/admin-input.ts';
import type { GuardRuntime } from '../runtime.ts';
import { autonomyAdmin } from './autonomy.ts';
import { breakersAdmin } from './breakers.ts';
import { budgetsAdmin } from './budgets.ts';
import { toolsAdmin } from './tools.ts';
import { trustAdmin } from './trust.ts';

export function guardAdmin(guard: GuardRuntime): readonly AdminExtension[] {
  return [
    toolsAdmin(guard),
    breakersAdmin(guard),
    budgetsAdmin(guard),
    trustAdmin(guard),
    autonomyAdmin(guard),
  ];
}
