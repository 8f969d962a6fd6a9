/**
 * Pinned tools, before the decision (DESIGN §6, docs/guard.md): on a route that pins its tools, a call of
 * an MCP tool (`tools/call`) or an A2A skill (a message naming `metadata.skill`) whose definition is not
 * approved — quarantined after a change, pending, revoked, or never seen — is refused by the guard with its
 * own code. The refusal is a decision: the guard view marks the call refused, `decide` denies it and
 * `record` writes the denial to the ledger before answering it.
 *
 * The pin is read from the guard store for every call (nothing cached here), so an approval, revocation or
 * quarantine by another process counts from the next call. A store that cannot be read fails closed.
 */
import type { CallDescriptor } from '../../guard/catalog.ts';
import { describeCall, type GuardedCall } from '../../guard/check-call.ts';
import { routeKey } from '../../guard/pins/route-key.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';

/** The tool (skill) a call invokes, when it invokes one. */
export function pinnedToolOf(call: CallDescriptor): string | undefined {
  if (call.protocol === 'mcp') return call.rpcMethod === 'tools/call' ? call.tool : undefined;
  if (call.protocol === 'a2a') return call.skill;
  return undefined;
}

export const checkPins: GatewayStep = {
  name: 'check-pins',
  async run(call: GatewayCall): Promise<void> {
    const route = need(call.route, 'route');
    const mode = route.tools?.pinning ?? 'off';
    if (mode === 'off') return;
    const view = need(call.guard, 'guard');
    const targets = view.calls.filter((c) => c.kind === 'action' && pinnedToolOf(c.call) !== undefined);
    if (targets.length === 0) return;
    const pins = call.gw.guard?.pins;
    // The configuration demands pins: without a guard store there is nothing to check against.
    if (pins === undefined)
      throw new GatewayError(
        'WARRANT_TOOL_PINS_UNAVAILABLE',
        'this route pins its tools, but this gateway has no guard store',
      );
    const key = routeKey(route);
    const reasons = [...view.reasons];
    const calls: GuardedCall[] = [];
    for (const guarded of view.calls) {
      const tool = guarded.kind === 'action' ? pinnedToolOf(guarded.call) : undefined;
      if (tool === undefined) {
        calls.push(guarded);
        continue;
      }
      let verdict: Awaited<ReturnType<typeof pins.callable>>;
      try {
        verdict = await pins.callable(key, mode, tool);
      } catch (cause) {
        throw new GatewayError('WARRANT_TOOL_PINS_UNAVAILABLE', 'the tool pins cannot be read', { cause });
      }
      if (verdict.ok) {
        calls.push(guarded);
        continue;
      }
      const reason = `${describeCall(guarded.call)} is refused: ${verdict.reason}`;
      reasons.push(reason);
      calls.push({
        kind: 'refused',
        call: guarded.call,
        code: verdict.quarantined ? 'WARRANT_TOOL_QUARANTINED' : 'WARRANT_TOOL_NOT_APPROVED',
        reason,
      });
    }
    call.guard = { ...view, verdict: reasons.length === 0 ? 'pass' : 'refuse', reasons, calls };
  },
};
