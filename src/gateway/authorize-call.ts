import type { ErrorCode } from '../core/errors.ts';
import { type Grant, patternMatches } from '../core/grants/index.ts';
import type { WarrantClaims } from '../core/tokens/index.ts';
import { type CatalogAction, DATA_CLASS_RANK, type DataClass } from '../guard/catalog.ts';
import { type RiskScore, scoreRisk } from '../guard/risk.ts';
import type { DecisionCache, PolicySet } from '../policy/index.ts';

export interface CallDecision {
  readonly decision: 'allow' | 'deny';
  readonly reasons: readonly string[];
  readonly code?: ErrorCode;
  /** `insufficient_scope` when the warrant lacks a grant; `access_denied` when policy refuses. */
  readonly error?: 'insufficient_scope' | 'access_denied';
  readonly policyVersion: string;
  readonly risk: RiskScore;
  /** The grant of the warrant that covers this call. */
  readonly used?: Grant;
}

/**
 * Per-call policy decisions keyed by a plain string of exactly the inputs the action policy sees (no
 * canonical JSON, no hashing): a repeat call costs one map lookup. Cleared when the policy changes.
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
  readonly action: CatalogAction;
  readonly resource: string;
  readonly trustLevel: number;
  readonly policy: PolicySet;
  readonly cache?: DecisionCache;
  readonly calls?: CallDecisionCache;
}

/** The grant that covers `action` on `resource`, honouring its data-class ceiling; undefined when none. */
export function coveringGrant(
  grants: readonly Grant[],
  action: CatalogAction,
  resource: string,
): Grant | undefined {
  return grants.find((g) => {
    if (!patternMatches(g.action, action.name) || !patternMatches(g.resource, resource)) return false;
    const ceiling = g.constraints?.['data_class'];
    if (
      ceiling !== undefined &&
      DATA_CLASS_RANK[action.dataClass] > (DATA_CLASS_RANK[ceiling as DataClass] ?? -1)
    )
      return false;
    const destinations = g.constraints?.['destination'];
    if (
      Array.isArray(destinations) &&
      !destinations.some((d) => typeof d === 'string' && patternMatches(d, resource))
    )
      return false;
    return true;
  });
}

/**
 * Decides one call (DESIGN §5): the presented warrant must hold a grant covering the catalog action on the
 * resource, then the action policy decides with the risk score and the chain facts. Deny by default.
 */
export function authorizeCall(input: CallInput): CallDecision {
  const { claims, action } = input;
  const risk = scoreRisk(action, { depth: claims.depth, trustLevel: input.trustLevel });
  const used = coveringGrant(claims.grants, action, input.resource);
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
  const approved = claims.apv !== undefined && claims.apv.action === action.name;
  const key = `${input.policy.version}\u0000${claims.act.sub}\u0000${action.name}\u0000${action.impact}\u0000${action.dataClass}\u0000${input.resource}\u0000${risk.score}\u0000${input.trustLevel}\u0000${claims.depth}\u0000${claims.sub}\u0000${approved}`;
  let decision = input.calls?.get(key);
  if (decision === undefined) {
    decision = cedarCall(input, risk.score, approved);
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
    };
  }
  return { decision: 'allow', reasons: decision.reasons, policyVersion: input.policy.version, risk, used };
}

function cedarCall(
  input: CallInput,
  risk: number,
  approved: boolean,
): { decision: 'allow' | 'deny'; reasons: readonly string[]; errors: readonly string[] } {
  const { claims, action } = input;
  return input.policy.authorize(
    {
      principal: { type: 'Warrant::Agent', id: claims.act.sub },
      action: { type: 'Warrant::Action', id: 'call' },
      resource: input.resource.startsWith('spiffe://')
        ? { type: 'Warrant::Agent', id: input.resource }
        : { type: 'Warrant::Resource', id: input.resource },
      context: {
        action: action.name,
        impact: action.impact,
        risk,
        trustLevel: input.trustLevel,
        depth: claims.depth,
        person: claims.sub,
        dataClassRank: DATA_CLASS_RANK[action.dataClass],
        approved,
      },
      entities: [
        {
          uid: { type: 'Warrant::Agent', id: claims.act.sub },
          attrs: { tier: 'unknown', trustLevel: input.trustLevel, owner: '' },
          parents: [],
        },
        ...(input.resource.startsWith('spiffe://')
          ? [
              {
                uid: { type: 'Warrant::Agent', id: input.resource },
                attrs: { tier: 'unknown', trustLevel: 0, owner: '' },
                parents: [],
              },
            ]
          : [{ uid: { type: 'Warrant::Resource', id: input.resource }, attrs: {}, parents: [] }]),
      ],
    },
    input.cache,
  );
}
