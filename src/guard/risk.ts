import type { RiskWeights } from '../config/types.ts';
import type { CatalogAction } from './catalog.ts';

/**
 * One factor of a risk score, as recorded with the decision: what it looked at (`input`), its configured
 * weight, and the points it added (negative: it lowered the score).
 */
export interface RiskFactor {
  readonly name: string;
  readonly input: string | number;
  readonly weight: number;
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

/** The inputs of a score beside the action's catalog facts. */
export interface RiskContext {
  readonly depth: number;
  readonly trustLevel: number;
  readonly signals?: RiskSignals;
}

/** The shipped weights (`guard.risk.weights` defaults in src/config/schema.json; docs/guard.md). */
export const DEFAULT_RISK_WEIGHTS: RiskWeights = Object.freeze({
  impact: Object.freeze({ low: 5, medium: 20, high: 45, critical: 70 }),
  reversibility: Object.freeze({ reversible: 0, compensable: 5, irreversible: 15 }),
  dataClass: Object.freeze({ public: 0, internal: 2, confidential: 8, restricted: 15 }),
  chainDepth: Object.freeze({ perHop: 3, cap: 15 }),
  blastRadius: Object.freeze({ perDoubling: 3, cap: 15 }),
  trustLevel: Object.freeze([0, -3, -6, -9, -12, -15]),
  breakerHalfOpen: 10,
  anomaly: 20,
});

/** The entry of a per-level list for `level`: levels beyond the list take its last entry. */
export function byLevel(list: readonly number[], level: number): number {
  return list[Math.max(0, Math.min(Math.trunc(level), list.length - 1))]!;
}

/** `min(round(log2(blastRadius) × perDoubling), cap)`: 0 for a blast radius of 1 (or less). */
export function blastRadiusPoints(blastRadius: number, rule: { perDoubling: number; cap: number }): number {
  if (!(blastRadius > 1)) return 0;
  return Math.min(Math.round(Math.log2(blastRadius) * rule.perDoubling), rule.cap);
}

/**
 * A transparent risk score at the edge (DESIGN §6): the sum of named factors, each recorded with its input,
 * weight and points, so anyone can see why a call scored what it did. Every factor is listed, also at zero
 * points; the sum is clamped to 0..100. Trust lowers the score; nothing is hidden.
 */
export function scoreRisk(
  action: CatalogAction,
  context: RiskContext,
  weights: RiskWeights = DEFAULT_RISK_WEIGHTS,
): RiskScore {
  const signals = context.signals ?? { breaker: 'closed', anomaly: 0 };
  const depthPoints = Math.min(context.depth * weights.chainDepth.perHop, weights.chainDepth.cap);
  const trust = byLevel(weights.trustLevel, context.trustLevel);
  const anomaly = Math.max(0, Math.min(1, Number.isFinite(signals.anomaly) ? signals.anomaly : 1));
  const halfOpen = signals.breaker === 'half_open';
  const factors: RiskFactor[] = [
    {
      name: 'impact',
      input: action.impact,
      weight: weights.impact[action.impact],
      points: weights.impact[action.impact],
    },
    {
      name: 'reversibility',
      input: action.reversibility,
      weight: weights.reversibility[action.reversibility],
      points: weights.reversibility[action.reversibility],
    },
    {
      name: 'data_class',
      input: action.dataClass,
      weight: weights.dataClass[action.dataClass],
      points: weights.dataClass[action.dataClass],
    },
    { name: 'chain_depth', input: context.depth, weight: weights.chainDepth.perHop, points: depthPoints },
    {
      name: 'blast_radius',
      input: action.blastRadius,
      weight: weights.blastRadius.perDoubling,
      points: blastRadiusPoints(action.blastRadius, weights.blastRadius),
    },
    { name: 'trust_level', input: context.trustLevel, weight: trust, points: trust },
    {
      name: 'breaker',
      input: signals.breaker,
      weight: weights.breakerHalfOpen,
      points: halfOpen ? weights.breakerHalfOpen : 0,
    },
    {
      name: 'anomaly',
      input: anomaly,
      weight: weights.anomaly,
      points: Math.round(anomaly * weights.anomaly),
    },
  ];
  const sum = factors.reduce((total, f) => total + f.points, 0);
  return { score: Math.max(0, Math.min(100, sum)), factors };
}
