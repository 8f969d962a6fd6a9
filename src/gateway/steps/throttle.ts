/**
 * Throttle after the decision (src/guard/throttle.ts): an allowed call of a rate-limited catalog action
 * counts against its agent's limit; past it the decision becomes a deny (`WARRANT_RATE_LIMITED`), recorded
 * by `record` and answered 429 with Retry-After. Denied calls do not count.
 *
 * A catalog that declares a rate limit on a gateway without guard counters fails closed: the limit cannot
 * be enforced, so nothing is forwarded (503).
 */
import type { CatalogEntry } from '../../guard/catalog.ts';
import { throttle as countCalls } from '../../guard/throttle.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';

export const throttle: GatewayStep = {
  name: 'throttle',
  async run(call: GatewayCall): Promise<void> {
    const verdict = need(call.verdict, 'verdict');
    if (verdict.decision.decision !== 'allow') return;
    const actions: CatalogEntry[] = [];
    for (const c of need(call.guard, 'guard').calls)
      if (c.kind === 'action' && c.action.rateLimit) actions.push(c.action);
    if (actions.length === 0) return;
    const guard = call.gw.guard;
    if (guard === undefined)
      throw new GatewayError(
        'WARRANT_HOT_STATE_UNAVAILABLE',
        'the action has a rate limit and this gateway has no guard counters to enforce it',
      );
    const agent = need(call.presented, 'presented').leaf.claims.act.sub;
    const refusal = await countCalls(guard.counters, agent, actions, guard.now());
    if (refusal === undefined) return;
    call.verdict = {
      ...verdict,
      decision: {
        ...verdict.decision,
        decision: 'deny',
        reasons: [refusal.reason],
        code: 'WARRANT_RATE_LIMITED',
        error: 'access_denied',
      },
    };
    call.retryAfter = refusal.retryAfter;
  },
};
