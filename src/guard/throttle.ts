/**
 * Throttle (DESIGN §6): an action's own rate limit from the catalog (`rateLimit: {requests, perSeconds}`),
 * per agent per action, counted in the guard's counters in fixed windows of `perSeconds` — so with Redis
 * counters the limit holds across every gateway replica. Only allowed calls are counted (the step runs
 * after the decision); the call past the limit is refused until the window ends.
 */
import type { CatalogEntry } from './catalog.ts';
import type { CounterOp, Counters, WindowCount } from './counters/counters.ts';

export interface ThrottleRefusal {
  readonly action: string;
  readonly reason: string;
  /** Seconds until the window ends. */
  readonly retryAfter: number;
}

/** Counts one call of each rate-limited action of `actions` for `agent`; the first limit passed, if any. */
export async function throttle(
  counters: Counters,
  agent: string,
  actions: readonly CatalogEntry[],
  now: number,
): Promise<ThrottleRefusal | undefined> {
  const limited = actions.filter((a) => a.rateLimit !== undefined);
  if (limited.length === 0) return undefined;
  const counts = await counters.run(
    limited.map(
      (a): CounterOp => ({
        op: 'count',
        key: `rl:${agent} ${a.name}`,
        window: a.rateLimit!.perSeconds,
        by: 1,
      }),
    ),
    now,
  );
  for (const [i, action] of limited.entries()) {
    const { requests, perSeconds } = action.rateLimit!;
    const n = counts[i] as WindowCount;
    if (n.current > requests)
      return {
        action: action.name,
        reason: `${action.name} is rate limited to ${requests} calls per ${perSeconds} s for this agent`,
        retryAfter: n.resetIn,
      };
  }
  return undefined;
}
