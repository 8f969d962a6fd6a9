/**
 * Trips the breakers involved in a containment (DESIGN §6): the transaction's for `--txn`, `--warrant` and
 * each transaction of `--person`; the agent's for `--agent`. The breakers themselves are another part of
 * the guard; this needs only {@link BreakerTrip}, found on the guard runtime as `breakers` when that part
 * is there. Without it, each breaker is reported `skipped` (unavailable) — the revocation alone already
 * refuses every further call of the selection.
 */
import type { GuardRuntime } from '../runtime.ts';
import type { BreakerKey, ContainStep } from './types.ts';

/** What containment needs of the circuit breakers: open one, with a reason, until an operator resets it. */
export interface BreakerTrip {
  trip(key: BreakerKey, reason: string): Promise<void>;
}

/** The runtime's breakers, when that part is present and can trip. */
export function breakersOf(guard: GuardRuntime): BreakerTrip | undefined {
  const part = (guard as { readonly breakers?: unknown }).breakers;
  if (part !== null && typeof part === 'object' && typeof (part as BreakerTrip).trip === 'function')
    return part as BreakerTrip;
  return undefined;
}

export async function tripBreakers(
  guard: GuardRuntime,
  keys: readonly BreakerKey[],
  reason: string,
): Promise<ContainStep[]> {
  const breakers = breakersOf(guard);
  const steps: ContainStep[] = [];
  for (const key of keys) {
    if (breakers === undefined) {
      steps.push({ step: 'breaker', outcome: 'skipped', detail: { ...key, reason: 'no circuit breakers' } });
      continue;
    }
    try {
      await breakers.trip(key, reason);
      steps.push({ step: 'breaker', outcome: 'done', detail: { ...key } });
    } catch (error) {
      steps.push({
        step: 'breaker',
        outcome: 'failed',
        detail: { ...key, error: (error as { code?: string })?.code ?? (error as Error)?.name ?? 'Error' },
      });
    }
  }
  return steps;
}
