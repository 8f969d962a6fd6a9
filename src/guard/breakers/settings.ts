/** The breakers' settings: `guard.breakers` of the configuration, with the schema's defaults for configurations built in code. */
import type { BreakersConfig, GuardConfig } from '../../config/types.ts';

export const BREAKER_DEFAULTS: BreakersConfig = Object.freeze({
  enabled: true,
  windowSeconds: 60,
  cooldownSeconds: 60,
  halfOpenProbes: 1,
  maxCalls: Object.freeze({ agent: 60_000, txn: 30_000, destination: 30_000 }),
  baseline: Object.freeze({ factor: 10, floor: 3000, alpha: 0.2 }),
  maxFailures: 500,
  maxDenials: 500,
  txnSystems: Object.freeze({ max: 16, learnTxns: 200 }),
});

/** `config.guard.breakers` over the defaults (each nested group merged, so a partial override keeps the rest). */
export function breakerSettings(config: { readonly guard?: Pick<GuardConfig, 'breakers'> }): BreakersConfig {
  const given = (config.guard?.breakers ?? {}) as Partial<BreakersConfig>;
  const d = BREAKER_DEFAULTS;
  return Object.freeze({
    ...d,
    ...given,
    maxCalls: Object.freeze({ ...d.maxCalls, ...given.maxCalls }),
    baseline: Object.freeze({ ...d.baseline, ...given.baseline }),
    txnSystems: Object.freeze({ ...d.txnSystems, ...given.txnSystems }),
  });
}
