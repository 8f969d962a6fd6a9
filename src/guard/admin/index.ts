/**
 * The guard's admin endpoints, under `/admin/` behind the admin credential of the control plane (each part's
 * endpoints in their own file here). They change the guard's store; the gateways learn of changes through
 * the store's change feed.
 */
import type { AdminExtension } from '../../sts/admin-input.ts';
import type { ContainContext } from '../contain/context.ts';
import type { GuardRuntime } from '../runtime.ts';
import { containAdmin } from './contain.ts';

/**
 * `contain`: what containment needs beyond the guard (the STS, the routes, the catalog, the ledger); absent
 * in harnesses that run the guard alone, and then `/admin/contain` is not served.
 */
export function guardAdmin(_guard: GuardRuntime, contain?: ContainContext): readonly AdminExtension[] {
  return [...(contain ? [containAdmin(contain)] : [])];
}
