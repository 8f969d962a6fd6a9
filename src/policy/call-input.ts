/**
 * "May this call happen now?" — the gateway's question per request (DESIGN §5), as Cedar input:
 *   principal = the calling agent (`Warrant::Agent`),
 *   action    = `Warrant::Action::"call"`,
 *   resource  = the recipient agent or the resource (`Warrant::Agent` / `Warrant::Resource`),
 *   context   = the catalog facts, risk, trust level, chain depth, person and approval
 *               (`CallContext` in policies/schema.cedarschema).
 * The entity set is sliced to this request: the caller and the resource, nothing more.
 */
import { DATA_CLASS_RANK, type DataClass } from '../core/grants/index.ts';
import { ENTITY_TYPES } from './delegation.ts';
import type { AuthorizationRequest, Entity, EntityUid } from './types.ts';

export const CALL_ACTION: EntityUid = Object.freeze({ type: 'Warrant::Action', id: 'call' });

/** Exactly what the action policy sees of one call. */
export interface CallPolicyInput {
  /** The calling agent (the warrant's current actor). */
  readonly caller: string;
  /** The natural person at the root of the chain (`sub`). */
  readonly person: string;
  /** The warrant's delegation depth. */
  readonly depth: number;
  /** The catalog action. */
  readonly action: { readonly name: string; readonly impact: string; readonly dataClass: DataClass };
  /** The resource the call is on (an agent's SPIFFE ID, a tool URI, `model:<name>`). */
  readonly resource: string;
  /** The risk score (0..100). */
  readonly risk: number;
  readonly trustLevel: number;
  /**
   * Whether the warrant carries an approval (`apv`) for exactly this call: its action and the call's digest
   * (src/guard/approvals/digest.ts). Whether it is still unused is checked after the policy (step `bound`).
   */
  readonly approved: boolean;
}

/**
 * The decision-cache key of a call: a plain string of exactly the inputs `callPolicyRequest` reads, and
 * the policy version (no canonical JSON, no hashing: a repeat call costs one map lookup).
 */
export function callPolicyKey(policyVersion: string, input: CallPolicyInput): string {
  return `${policyVersion}\u0000${input.caller}\u0000${input.action.name}\u0000${input.action.impact}\u0000${input.action.dataClass}\u0000${input.resource}\u0000${input.risk}\u0000${input.trustLevel}\u0000${input.depth}\u0000${input.person}\u0000${input.approved}`;
}

/** The Cedar request for one call. */
export function callPolicyRequest(input: CallPolicyInput): AuthorizationRequest {
  const agentResource = input.resource.startsWith('spiffe://');
  const resource: EntityUid = {
    type: agentResource ? ENTITY_TYPES.agent : ENTITY_TYPES.resource,
    id: input.resource,
  };
  const resourceEntity: Entity = agentResource
    ? { uid: resource, attrs: { tier: 'unknown', trustLevel: 0, owner: '' }, parents: [] }
    : { uid: resource, attrs: {}, parents: [] };
  return {
    principal: { type: ENTITY_TYPES.agent, id: input.caller },
    action: CALL_ACTION,
    resource,
    context: {
      action: input.action.name,
      impact: input.action.impact,
      risk: input.risk,
      trustLevel: input.trustLevel,
      depth: input.depth,
      person: input.person,
      dataClassRank: DATA_CLASS_RANK[input.action.dataClass],
      approved: input.approved,
    },
    entities: [
      {
        uid: { type: ENTITY_TYPES.agent, id: input.caller },
        attrs: { tier: 'unknown', trustLevel: input.trustLevel, owner: '' },
        parents: [],
      },
      resourceEntity,
    ],
  };
}
