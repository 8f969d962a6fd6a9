import type { RiskWeights } from '../config/types.ts';
import type { ErrorCode } from '../core/errors.ts';
import { coveringGrant, type Grant, grantCovers } from '../core/grants/index.ts';
import type { WarrantClaims } from '../core/tokens/index.ts';
import type { CatalogEntry } from '../guard/catalog.ts';
import { type RiskScore, type RiskSignals, scoreRisk } from '../guard/risk.ts';
import {
  type CallPolicyInput,
  callPolicyKey,
  callPolicyRequest,
  type DecisionCache,
  type PolicySet,
} from '../policy/index.ts';
import { type ConstraintCheck, checkConstraints, type ParameterValue } from './check-constraints.ts';
import type { ParameterReader } from './read-parameters.ts';

export interface CallDecision {
  /**
   * `approval_required`: allowed by grants and policy, but above the agent's bound (bounded autonomy, the
   * `bound` step) or past a budget with `onExceed: approval`, so a person must approve this exact call first.
   */
  readonly decision: 'allow' | 'deny' | 'approval_required';
  readonly reasons: readonly string[];
  readonly code?: ErrorCode;
  /**
   * `insufficient_scope` when the warrant lacks a grant or a value is beyond its constraints;
   * `access_denied` when policy refuses or a constrained parameter cannot be read.
   */
  readonly error?: 'insufficient_scope' | 'access_denied';
  readonly policyVersion: string;
  readonly risk: RiskScore;
  /** The grant of the warrant that covers this call (on a constraint denial: the grant checked). */
  readonly used?: Grant;
  /** The call's values checked against the constraints of `used`, by parameter name. */
  readonly values?: Readonly<Record<string, ParameterValue>>;
  /** Bounded autonomy (the `bound` step): the effective bound the risk was held to, and any approval. */
  readonly autonomy?: AutonomyVerdict;
}

/** How bounded autonomy judged a call (recorded with the decision). */
export interface AutonomyVerdict {
  /** The trust level's bound, and after blast-radius tightening. */
  readonly bound: number;
  readonly effectiveBound: number;
  /** The approval created for the call (`approval_required`) or spent by it (an allowed approved call). */
  readonly approval?: { readonly id: string; readonly uri?: string; readonly status: string };
}

/**
 * Per-call policy decisions keyed by a plain string of exactly the inputs the action policy sees (no
 * canonical JSON, no hashing): a repeat call costs one map lookup. Cleared when the policy changes.
 * It caches the policy's answer only: the call's parameter values are not policy inputs, and the grant's
 * constraints are checked against them on every call before this cache is consulted, so an allow cached
 * for a small amount never answers for a large one.
 */
export class CallDecisionCache {
  readonly #map = new Map<
    string,
    { decision: 'allow' | 'deny'; reasons: readonly string[]; errors: readonly string[] }
  >();
  readonly #max: number;
  hits = 0;
  misses = 0;
  constructor(max = 10_000) {
    this.#max = max;
  }
  get(key: string) {
    const v = this.#map.get(key);
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }
  set(
    key: string,
    value: { decision: 'allow' | 'deny'; reasons: readonly string[]; errors: readonly string[] },
  ): void {
    if (this.#map.size >= this.#max) this.#map.clear();
    this.#map.set(key, value);
  }
  clear(): void {
    this.#map.clear();
  }
}

export interface CallInput {
  readonly claims: WarrantClaims;
  readonly action: CatalogEntry;
  readonly resource: string;
  readonly trustLevel: number;
  /** The risk weights (`guard.risk.weights`); default: the shipped ones. */
  readonly weights?: RiskWeights;
  /** What the guard's parts observed before the decision (breakers, anomaly). */
  readonly signals?: RiskSignals;
  /**
   * Whether the warrant's approval (`apv`) is for exactly this call (same action and call digest); default:
   * for the same action. Single use is checked after the decision, by the `bound` step.
   */
  readonly approved?: boolean;
  readonly policy: PolicySet;
  readonly cache?: DecisionCache;
  readonly calls?: CallDecisionCache;
  /**
   * The call's parameters, for the grants' value constraints. `null` only where no call is made and only
   * the policy's view is wanted (filtering a `tools/list` answer): constraints are then not checked.
   */
  readonly parameters: ParameterReader | null;
}

/**
 * The grant that covers the call with its values: the first covering grant whose value constraints the
 * call satisfies. When none does, the first covering grant's failure is the answer (grants are a union:
 * a call needs one grant that allows it whole).
 */
function grantForCall(
  grants: readonly Grant[],
  action: CatalogEntry,
  resource: string,
  reader: ParameterReader,
): { grant: Grant; check: ConstraintCheck } | undefined {
  let first: { grant: Grant; check: ConstraintCheck } | undefined;
  for (const grant of grants) {
    if (!grantCovers(grant, action, resource)) continue;
    const check = checkConstraints(grant, action, reader);
    if (check.ok) return { grant, check };
    first ??= { grant, check };
  }
  return first;
}

/**
 * Decides one call (DESIGN §5): the presented warrant must hold a grant covering the catalog action on the
 * resource, then the action policy decides with the risk score and the chain facts. Deny by default.
 */
export function authorizeCall(input: CallInput): CallDecision {
  const { claims, action } = input;
  const risk = scoreRisk(
    action,
    {
      depth: claims.depth,
      trustLevel: input.trustLevel,
      ...(input.signals === undefined ? {} : { signals: input.signals }),
    },
    input.weights,
  );
  let used: Grant | undefined;
  let values: Readonly<Record<string, ParameterValue>> | undefined;
  if (input.parameters === null) used = coveringGrant(claims.grants, action, input.resource);
  else {
    const found = grantForCall(claims.grants, action, input.resource, input.parameters);
    used = found?.grant;
    const ambiguous = input.parameters.ambiguous;
    if (found !== undefined && (ambiguous !== undefined || !found.check.ok)) {
      // Arguments that repeat a member name are never forwarded, constrained or not: the upstream could
      // read another value than the one checked.
      const failed = found.check.ok
        ? { code: 'WARRANT_PARAMETER_INVALID' as const, reason: `the call is ambiguous: ${ambiguous}` }
        : found.check;
      return {
        decision: 'deny',
        reasons: [failed.reason],
        code: failed.code,
        error:
          failed.code === 'WARRANT_CONSTRAINT_EXCEEDED' || failed.code === 'WARRANT_CONSTRAINT_NOT_ALLOWED'
            ? 'insufficient_scope'
            : 'access_denied',
        policyVersion: input.policy.version,
        risk,
        used: found.grant,
        values: found.check.values,
      };
    }
    if (found !== undefined && Object.keys(found.check.values).length > 0) values = found.check.values;
  }
  if (used === undefined) {
    return {
      decision: 'deny',
      reasons: [`no grant covers ${action.name} on ${input.resource}`],
      code: 'WARRANT_GRANT_NOT_HELD',
      error: 'insufficient_scope',
      policyVersion: input.policy.version,
      risk,
    };
  }
  const policyInput: CallPolicyInput = {
    caller: claims.act.sub,
    person: claims.sub,
    depth: claims.depth,
    action,
    resource: input.resource,
    risk: risk.score,
    trustLevel: input.trustLevel,
    approved: input.approved ?? (claims.apv !== undefined && claims.apv.action === action.name),
  };
  const key = callPolicyKey(input.policy.version, policyInput);
  let decision = input.calls?.get(key);
  if (decision === undefined) {
    decision = input.policy.authorize(callPolicyRequest(policyInput), input.cache);
    input.calls?.set(key, decision);
  }
  if (decision.decision !== 'allow') {
    return {
      decision: 'deny',
      reasons:
        decision.reasons.length > 0
          ? decision.reasons
          : decision.errors.length > 0
            ? decision.errors
            : ['no policy permits this call'],
      code: 'WARRANT_CALL_DENIED',
      error: 'access_denied',
      policyVersion: input.policy.version,
      risk,
      used,
      ...(values === undefined ? {} : { values }),
    };
  }
  return {
    decision: 'allow',
    reasons: decision.reasons,
    policyVersion: input.policy.version,
    risk,
    used,
    ...(values === undefined ? {} : { values }),
  };
}
