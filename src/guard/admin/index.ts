/**
 * The guard's admin endpoints, under `/admin/` behind the admin credential of the control plane (each part's
 * endpoints in their own file here). They change the guard's store; the gateways learn of changes through
 * the store's change feed.
 */
import { defaultConfig } from '../../config/load-config.ts';
import type { GuardConfig } from '../../config/types.ts';
import type { AdminExtension } from '../../sts/admin-input.ts';
import type { GuardRuntime } from '../runtime.ts';
import { approvalsAdmin } from './approvals.ts';

export function guardAdmin(
  guard: GuardRuntime,
  config: GuardConfig = defaultConfig().guard,
): readonly AdminExtension[] {
  return [approvalsAdmin(guard, config)];
}
