import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../config/load-config.ts';
import type { CatalogAction } from './catalog.ts';
import { blastRadiusPoints, byLevel, DEFAULT_RISK_WEIGHTS, scoreRisk } from './risk.ts';

const action: CatalogAction = {
  name: 'payments:pay',
  match: { protocol: 'http', method: 'POST', path: '/pay' },
  impact: 'high',
  dataClass: 'confidential',
  reversibility: 'irreversible',
  blastRadius: 8,
};

describe('risk at the edge', () => {
  test('every factor is listed with its input, weight and points; the score is their sum', () => {
    const risk = scoreRisk(action, { depth: 2, trustLevel: 1 });
    assert.deepEqual(risk.factors, [
      { name: 'impact', input: 'high', weight: 45, points: 45 },
      { name: 'reversibility', input: 'irreversible', weight: 15, points: 15 },
      { name: 'data_class', input: 'confidential', weight: 8, points: 8 },
      { name: 'chain_depth', input: 2, weight: 3, points: 6 },
      { name: 'blast_radius', input: 8, weight: 3, points: 9 },
      { name: 'trust_level', input: 1, weight: -3, points: -3 },
      { name: 'breaker', input: 'closed', weight: 10, points: 0 },
      { name: 'anomaly', input: 0, weight: 20, points: 0 },
    ]);
    assert.equal(risk.score, 80);
  });

  test('breaker and anomaly signals add their points; the score stays within 0..100', () => {
    const risk = scoreRisk(action, {
      depth: 5,
      trustLevel: 0,
      signals: { breaker: 'half_open', anomaly: 0.5 },
    });
    assert.equal(risk.factors.find((f) => f.name === 'breaker')?.points, 10);
    assert.equal(risk.factors.find((f) => f.name === 'anomaly')?.points, 10);
    assert.equal(risk.factors.find((f) => f.name === 'chain_depth')?.points, 15, 'capped');
    assert.equal(risk.score, 100);
    const low = scoreRisk(
      { ...action, impact: 'low', reversibility: 'reversible', dataClass: 'public', blastRadius: 1 },
      { depth: 0, trustLevel: 9 },
    );
    assert.equal(low.score, 0, 'trust cannot push the score below 0');
    assert.equal(
      low.factors.find((f) => f.name === 'trust_level')?.points,
      -15,
      'levels past the list take its last',
    );
  });

  test('configured weights replace the shipped ones', () => {
    const weights = loadConfig(undefined, {
      guard: { risk: { weights: { impact: { high: 10 }, trustLevel: [0, -5] } } },
    }).guard.risk.weights;
    assert.equal(
      weights.impact.critical,
      DEFAULT_RISK_WEIGHTS.impact.critical,
      'the rest keep their defaults',
    );
    const risk = scoreRisk(action, { depth: 0, trustLevel: 1 }, weights);
    assert.equal(risk.factors[0]?.points, 10);
    assert.equal(risk.score, 10 + 15 + 8 + 9 - 5);
  });

  test('the shipped defaults are the schema defaults', () => {
    assert.deepEqual(loadConfig().guard.risk.weights, DEFAULT_RISK_WEIGHTS);
  });

  test('blast radius and per-level helpers', () => {
    assert.equal(blastRadiusPoints(1, { perDoubling: 3, cap: 15 }), 0);
    assert.equal(blastRadiusPoints(4, { perDoubling: 3, cap: 15 }), 6);
    assert.equal(blastRadiusPoints(1 << 20, { perDoubling: 3, cap: 15 }), 15);
    assert.equal(byLevel([1, 2, 3], 0), 1);
    assert.equal(byLevel([1, 2, 3], 7), 3);
  });
});

describe('guard options at load', () => {
  const refused = (overrides: unknown, path: string) =>
    assert.throws(
      () => loadConfig(undefined, overrides as never),
      (e: unknown) => (e as { path?: string }).path === path,
      path,
    );

  test('bad weights are refused with the failing path', () => {
    refused({ guard: { risk: { weights: { impact: { high: 101 } } } } }, '/guard/risk/weights/impact/high');
    refused({ guard: { risk: { weights: { impact: { huge: 1 } } } } }, '/guard/risk/weights/impact/huge');
    refused({ guard: { risk: { weights: { trustLevel: [0, 3] } } } }, '/guard/risk/weights/trustLevel/1');
    refused({ guard: { risk: { weights: { trustLevel: [] } } } }, '/guard/risk/weights/trustLevel');
    refused({ guard: { risk: { weights: { anomaly: -1 } } } }, '/guard/risk/weights/anomaly');
    refused(
      { guard: { risk: { weights: { chainDepth: { perHop: 'x' } } } } },
      '/guard/risk/weights/chainDepth/perHop',
    );
  });

  test('bad bounds are refused with the failing path', () => {
    refused({ guard: { autonomy: { bounds: [40, 30] } } }, '/guard/autonomy/bounds/1');
    refused({ guard: { autonomy: { bounds: [101] } } }, '/guard/autonomy/bounds/0');
    refused({ guard: { autonomy: { blastRadius: { cap: -1 } } } }, '/guard/autonomy/blastRadius/cap');
    refused({ guard: { approvals: { ttlSeconds: 1 } } }, '/guard/approvals/ttlSeconds');
  });
});
