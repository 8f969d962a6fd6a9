/**
 * What a breaker is and how its state is kept (docs/guard.md#circuit-breakers). Three kinds of breaker,
 * each named by a key:
 *
 * - `agent:<agent id>` — the calling agent (the warrant's current actor), across every destination;
 * - `txn:<txn>` — one transaction (the warrant's `txn`), across every agent of its chain;
 * - `destination:<agent id> <audience>` — one agent toward one destination (a route's audience).
 *
 * A closed breaker has no state. A tripped one holds {@link OpenState} (JSON, in the counters under
 * `s:<key>`) until `until`; after that it is half-open: a few probe calls are let through, and the first
 * result closes it (success) or opens it again (failure or denial). The state expires on its own a while
 * after the cooldown, so an abandoned key never stays.
 */

export type BreakerKind = 'agent' | 'txn' | 'destination';

/** Why a breaker tripped. */
export type BreakerTrigger =
  | 'rate_cap'
  | 'baseline'
  | 'failures'
  | 'denials'
  | 'txn_systems'
  | 'novel_combination'
  | 'probe_failed'
  /** Opened by `warrant contain`: stays open (no half-open probes) until an operator resets it. */
  | 'contained';

export interface OpenState {
  readonly kind: BreakerKind;
  readonly key: string;
  readonly trigger: BreakerTrigger;
  /** In words, for the refusal, the record and the operator. */
  readonly reason: string;
  /** Epoch seconds. */
  readonly openedAt: number;
  /** Epoch seconds: the end of the cooldown (then half-open). */
  readonly until: number;
  /** The agent the breaker concerns (for `txn`: the caller whose call tripped it). */
  readonly agent: string;
  /** `novel_combination` / `txn_systems`: the txn's systems, sorted. */
  readonly combination?: readonly string[];
}

/** A breaker as the decision record and the operators see it. */
export interface BreakerView {
  readonly key: string;
  readonly kind: BreakerKind;
  readonly state: 'closed' | 'open' | 'half_open';
  readonly trigger?: BreakerTrigger;
  readonly reason?: string;
  readonly openedAt?: number;
  readonly until?: number;
}

export const agentKey = (agent: string): string => `agent:${agent}`;
export const txnKey = (txn: string): string => `txn:${txn}`;
export const destinationKey = (agent: string, audience: string): string => `destination:${agent} ${audience}`;

/** The kind a breaker key names, or undefined when it names none. */
export function kindOf(key: string): BreakerKind | undefined {
  const kind = key.slice(0, key.indexOf(':'));
  if (kind !== 'agent' && kind !== 'txn' && kind !== 'destination') return undefined;
  if (key.length === kind.length + 1) return undefined;
  if (kind === 'destination' && !/^destination:\S+ \S+$/.test(key)) return undefined;
  return kind;
}

/** The stored state, or undefined when absent or unreadable (an unreadable one is treated as closed and overwritten). */
export function parseState(raw: string | null): OpenState | undefined {
  if (raw === null) return undefined;
  try {
    const state = JSON.parse(raw) as OpenState;
    return typeof state.until === 'number' && typeof state.reason === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

export function viewOf(state: OpenState, now: number): BreakerView {
  return {
    key: state.key,
    kind: state.kind,
    state: now < state.until ? 'open' : 'half_open',
    trigger: state.trigger,
    reason: state.reason,
    openedAt: state.openedAt,
    until: state.until,
  };
}
