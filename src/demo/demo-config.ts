import { defaultConfig } from '../config/load-config.ts';
import type { BreakersConfig, WarrantConfig } from '../config/types.ts';

/** Calls per minute after which one transaction's breaker trips while the demo runs. */
export const DEMO_TXN_CALLS_PER_MINUTE = 20;

/**
 * The configuration `warrant dev --demo` runs with: the given one, with the transaction breaker's cap
 * lowered from its default (30 000 calls a minute) so the demo's runaway loop trips it within a second.
 * A cap the configuration file set is kept; nothing else changes.
 */
export function demoConfig(config: WarrantConfig): WarrantConfig {
  const defaults = defaultConfig().guard.breakers as BreakersConfig;
  const breakers = config.guard.breakers ?? defaults;
  if (breakers.maxCalls.txn !== defaults.maxCalls.txn) return config;
  return {
    ...config,
    guard: {
      ...config.guard,
      breakers: { ...breakers, maxCalls: { ...breakers.maxCalls, txn: DEMO_TXN_CALLS_PER_MINUTE } },
    },
  };
}
