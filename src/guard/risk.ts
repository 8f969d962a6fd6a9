import type { CatalogAction } from './catalog.ts';

export interface RiskFactor {
  readonly name: string;
  readonly points: number;
}

/** What the guard observed before the decision, for the risk score (set by the breakers' step). */
export interface RiskSignals {
  /** The worst state of the caller's breakers that let the call through (`half_open`: on probation). */
  breaker: 'closed' | 'half_open';
  /** How far the caller's recent rate is above its moving baseline, 0 (normal) .. 1 (at the hard cap). */
  anomaly: number;
}

export interface RiskScore {
  /** 0..100. */
  readonly score: number;
  readonly factors: readonly RiskFactor[];
}

const IMPACT_POINTS = { low: 5, medium: 20, high: 45, critical: 70 } as const;
const REVERSIBILITY_POINTS = { reversible: 0, compensable: 5, irreversible: 15 } as const;
const DATA_CLASS_POINTS = { public: 0, internal: 2, confidential: 8, restricted: 15 } as const;

/**
 * A transparent risk score at the edge (DESIGN §6): the sum of named factors, each recorded with the
 * decision, so anyone can see why a call scored what it did. Trust lowers the score; nothing is hidden.
 */
export function scoreRisk(action: CatalogAction, context: { depth: number; trustLevel: number }): RiskScore {
  const factors: RiskFactor[] = [
    { name: `impact:${action.impact}`, points: IMPACT_POINTS[action.impact] },
    { name: `reversibility:${action.reversibility}`, points: REVERSIBILITY_POINTS[action.reversibility] },
    { name: `data_class:${action.dataClass}`, points: DATA_CLASS_POINTS[action.dataClass] },
    { name: 'chain_depth', points: Math.min(context.depth * 3, 15) },
    { name: 'blast_radius', points: Math.min(Math.round(Math.log2(action.blastRadius) * 3), 15) },
    { name: 'trust_level', points: -Math.min(context.trustLevel * 3, 15) },
  ].filter((f) => f.points !== 0);
  const score = Math.max(
    0,
    Math.min(
      100,
      factors.reduce((sum, f) => sum + f.points, 0),
    ),
  );
  return { score, factors };
}
