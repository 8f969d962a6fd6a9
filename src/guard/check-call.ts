/**
 * The guard's look at a call before the policy decides (DESIGN §6): each call of the request resolved to
 * its catalog action and resource once, the caller's trust level read once, the risk inputs gathered —
 * and a verdict with reasons. Today the only refusal is an unknown action; circuit breakers, progressive
 * trust, budgets and approvals plug in here, each adding its refusal (code and reason) to the view.
 *
 * The view is a value the later steps reuse: the policy decides each `action` entry with `trustLevel`,
 * the decision record carries the trust level, and an MCP `tools/list` answer is filtered with the same
 * catalog and trust level — nothing is resolved twice.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { ActionCatalog, CallDescriptor, CatalogEntry } from './catalog.ts';

/** One call as the guard sees it. */
export type GuardedCall =
  /** Protocol housekeeping (MCP `initialize`, `tools/list`, …): needs a valid warrant, no action. */
  | { readonly kind: 'session'; readonly call: CallDescriptor }
  /** A catalog action on a resource, for the policy to decide. */
  | {
      readonly kind: 'action';
      readonly call: CallDescriptor;
      readonly action: CatalogEntry;
      readonly resource: string;
    }
  /** Refused by the guard (unknown action; later: open breaker, spent budget, …). */
  | {
      readonly kind: 'refused';
      readonly call: CallDescriptor;
      readonly code: ErrorCode;
      readonly reason: string;
    };

export interface GuardView {
  /** `refuse` when some call is refused (see its entry); `pass` otherwise. */
  readonly verdict: 'pass' | 'refuse';
  /** Why, one reason per refused call; empty on `pass`. */
  readonly reasons: readonly string[];
  /** Every call of the request, in order. */
  readonly calls: readonly GuardedCall[];
  /** The calling agent's trust level (progressive trust), read once for the request. */
  readonly trustLevel: number;
  /** The risk inputs beside each action's catalog facts (DESIGN §6 "risk at the edge"). */
  readonly risk: { readonly depth: number; readonly trustLevel: number };
}

export interface GuardInput {
  readonly catalog: ActionCatalog;
  readonly calls: readonly CallDescriptor[];
  /** The recipient (the route's audience): a call's resource when its action names none. */
  readonly audience: string;
  /** The calling agent (the warrant's current actor) and its delegation depth. */
  readonly caller: string;
  readonly depth: number;
  /** Trust level of an agent; 0 when absent. */
  readonly trustLevel?: ((agentId: string) => number) | undefined;
  /**
   * How a call resolves to its action: `catalog.resolve` unless given (the gateway passes an action it
   * already resolved, e.g. for an `http` call before reading its body).
   */
  readonly resolve?: ((call: CallDescriptor) => CatalogEntry | undefined) | undefined;
}

export function checkCall(input: GuardInput): GuardView {
  const trustLevel = input.trustLevel?.(input.caller) ?? 0;
  const calls: GuardedCall[] = [];
  const reasons: string[] = [];
  for (const call of input.calls) {
    if (isSessionCall(call)) {
      calls.push({ kind: 'session', call });
      continue;
    }
    const action = input.resolve === undefined ? input.catalog.resolve(call) : input.resolve(call);
    if (action === undefined) {
      const reason = `${describeCall(call)} is not in the action catalog`;
      calls.push({ kind: 'refused', call, code: 'WARRANT_ACTION_UNKNOWN', reason });
      reasons.push(reason);
      continue;
    }
    calls.push({ kind: 'action', call, action, resource: resourceOf(action, call, input.audience) });
  }
  return {
    verdict: reasons.length === 0 ? 'pass' : 'refuse',
    reasons,
    calls,
    trustLevel,
    risk: { depth: input.depth, trustLevel },
  };
}

/** Protocol housekeeping that needs a valid warrant for the route but no catalog action. */
export function isSessionCall(call: CallDescriptor): boolean {
  if (call.protocol === 'mcp') {
    return (
      call.rpcMethod === 'initialize' ||
      call.rpcMethod === 'ping' ||
      call.rpcMethod === 'tools/list' ||
      call.rpcMethod === '$response' ||
      call.rpcMethod.startsWith('notifications/') ||
      call.rpcMethod === '$http:GET' ||
      call.rpcMethod === '$http:DELETE'
    );
  }
  if (call.protocol === 'a2a') return call.rpcMethod === '$response';
  return false;
}

/** The resource a grant must cover: the action's `resource` (`{model}`, `{tool}` substituted), else the recipient. */
export function resourceOf(action: CatalogEntry, call: CallDescriptor, audience: string): string {
  if (action.resource === undefined) return call.protocol === 'openai' ? `model:${call.model}` : audience;
  return action.resource
    .replace('{model}', call.protocol === 'openai' ? call.model : '')
    .replace('{tool}', call.protocol === 'mcp' ? (call.tool ?? '') : '');
}

/** A call in words, for reasons: `GET /crm/x`, `MCP tool search`, `A2A message/send skill s`, `model m`. */
export function describeCall(call: CallDescriptor): string {
  switch (call.protocol) {
    case 'http':
      return `${call.method} ${call.path}`;
    case 'mcp':
      return call.tool ? `MCP tool ${call.tool}` : `MCP method ${call.rpcMethod}`;
    case 'a2a':
      return `A2A ${call.rpcMethod}${call.skill ? ` skill ${call.skill}` : ''}`;
    case 'openai':
      return `model ${call.model}`;
  }
}
