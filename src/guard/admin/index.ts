/**
 * The guard's admin endpoints, under `/admin/` behind the admin credential of the control plane (each part's
 * endpoints in their own file here). They change the guard's store; the gateways learn of changes through
 * the store's change feed.
 */
import type { AdminExtension } from '../../sts/admin-input.ts';
import type { GuardRuntime } from '../runtime.ts';
import { breakersAdmin } from './breakers.ts';

export function guardAdmin(guard: GuardRuntime): readonly AdminExtension[] {
  return [breakersAdmin(guard)];
}
