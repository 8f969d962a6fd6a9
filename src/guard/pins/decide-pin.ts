/**
 * The pin decision for one definition a server showed (pure; the store applies it): whether the tool is
 * visible, and what changes in its pin. The rules (docs/guard.md, Pinned tools):
 *
 * - never seen: under `approve` it is recorded `pending` (hidden until an operator approves it); under
 *   `tofu` it is pinned `approved` as it is (trust on first use);
 * - approved, same digest: visible, nothing changes;
 * - approved, another digest: `quarantined` (hidden, calls refused), the drift recorded — whatever the
 *   mode: first use is trusted once, never a change;
 * - quarantined or pending: stays hidden (a server that reverts to the approved definition stays
 *   quarantined too: only an operator lifts it); a definition that differs from the one seen last
 *   replaces it (and, when quarantined, adds a drift), so the operator approves what the server shows now.
 */
import type { PinningMode } from '../../config/types.ts';
import type { ToolPin } from './pin.ts';

export type PinChange =
  | { readonly kind: 'none' }
  /** Insert the pin: `pending` (approve) or `approved` (tofu). */
  | { readonly kind: 'first-seen'; readonly status: 'pending' | 'approved' }
  /** Approved → quarantined, drift approved digest → seen digest. */
  | { readonly kind: 'quarantine' }
  /** Quarantined or pending: the server shows yet another definition; drift recorded when quarantined. */
  | { readonly kind: 'seen-changed' };

export interface PinOutcome {
  readonly visible: boolean;
  readonly change: PinChange;
}

export function decidePin(mode: PinningMode, pin: ToolPin | undefined, seenDigest: string): PinOutcome {
  if (mode === 'off') return { visible: true, change: { kind: 'none' } };
  if (pin === undefined) {
    return mode === 'tofu'
      ? { visible: true, change: { kind: 'first-seen', status: 'approved' } }
      : { visible: false, change: { kind: 'first-seen', status: 'pending' } };
  }
  if (pin.status === 'approved') {
    if (pin.digest === seenDigest) return { visible: true, change: { kind: 'none' } };
    return { visible: false, change: { kind: 'quarantine' } };
  }
  if (pin.seenDigest === seenDigest) return { visible: false, change: { kind: 'none' } };
  return { visible: false, change: { kind: 'seen-changed' } };
}

/**
 * Whether a call of a tool may go on, from its pin (absent: never seen on this route). Under `tofu` too a
 * tool never seen is refused: its definition was not seen, so there is nothing to trust on first use.
 */
export function callablePin(
  mode: PinningMode,
  pin: ToolPin | undefined,
): { readonly ok: true } | { readonly ok: false; readonly quarantined: boolean; readonly reason: string } {
  if (mode === 'off') return { ok: true };
  if (pin === undefined)
    return {
      ok: false,
      quarantined: false,
      reason:
        mode === 'tofu'
          ? 'its definition was not seen on this route yet (list the tools first)'
          : 'no definition of it was approved on this route',
    };
  if (pin.status === 'approved') {
    if (pin.seenDigest !== pin.digest)
      return { ok: false, quarantined: true, reason: 'its definition changed since it was approved' };
    return { ok: true };
  }
  if (pin.status === 'quarantined')
    return { ok: false, quarantined: true, reason: 'its definition changed since it was approved' };
  return { ok: false, quarantined: false, reason: 'its definition is not approved on this route' };
}
