/**
 * The guard (src/guard/check-call.ts): each call resolved to its catalog action and resource, the
 * caller's trust level read once, the risk inputs gathered, and the guard's own refusals (an unknown
 * action today; breakers, budgets and approvals later). The decide step turns its view into the decision.
 */
import { checkCall } from '../../guard/check-call.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';

export const guard: GatewayStep = {
  name: 'guard',
  run(call: GatewayCall): void {
    const claims = need(call.presented, 'presented').leaf.claims;
    const early = call.httpAction;
    call.guard = checkCall({
      catalog: call.catalog,
      calls: call.calls,
      audience: need(call.route, 'route').audience,
      caller: claims.act.sub,
      depth: claims.depth,
      trustLevel: call.gw.trustLevel,
      resolve:
        early === undefined
          ? undefined
          : (c) => (c.protocol === 'http' ? early.action : call.catalog.resolve(c)),
    });
  },
};
