import type { AgentRecord, PreviousAgentKey } from './ports.ts';

/**
 * An agent's previous keys once it rotates away from its current key at `now`: the ones past their overlap
 * are dropped, and the key it leaves stays accepted until `overlapUntil` (exclusive) — unless that is not
 * ahead of `now`, when it ends at once.
 */
export function previousKeysAfterRotation(
  current: AgentRecord,
  now: number,
  overlapUntil: number,
): PreviousAgentKey[] {
  const previous = current.previousKeys.filter((k) => k.until > now);
  if (overlapUntil > now) previous.push({ jwk: current.publicJwk, jkt: current.jkt, until: overlapUntil });
  return previous;
}
