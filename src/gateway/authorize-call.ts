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

export interface CallInput {
  readonly claims: WarrantClaims;
  readonly action: CatalogAction;
  readonly resource: string;
  readonly trustLevel: number;
  readonly policy: PolicySet;
  readonly cache?: DecisionCache;
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
  const decision = input.policy.authorize(
    {
      principal: { type: 'Warrant::Agent', id: claims.act.sub },
      action: { type: 'Warrant::Action', id: 'call' },
      resource: input.resource.startsWith('spiffe://')
        ? { type: 'Warrant::Agent', id: input.resource }
        : { type: 'Warrant::Resource', id: input.resource },
      context: {
        action: action.name,
        impact: action.impact,
        risk: risk.score,
        trustLevel: input.trustLevel,
        depth: claims.depth,
        person: claims.sub,
        dataClassRank: DATA_CLASS_RANK[action.dataClass],
        approved: claims.apv !== undefined && claims.apv.action === action.name,
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
      policyVersion: decision.policyVersion,
      risk,
      used,
    };
  }
  return { decision: 'allow', reasons: decision.reasons, policyVersion: decision.policyVersion, risk, used };
}
