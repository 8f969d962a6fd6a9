/**
 * A server showed its tools (an MCP `tools/list` answer, an A2A agent card): each definition is compared
 * with its pin — every time, nothing is cached — and the pins change as {@link decidePin} says, each change
 * in its own short transaction with its entry in the guard's change history. Resolves the names of the
 * tools that may be shown (and called).
 */
import type { PinningMode } from '../../config/types.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { decidePin } from './decide-pin.ts';
import { changedFields, type ToolDefinition } from './digest.ts';
import { pinSubject, type ToolPin } from './pin.ts';
import { readPin, readPins } from './read-pins.ts';

export interface SeenDefinition {
  readonly tool: string;
  readonly definition: ToolDefinition;
  readonly digest: string;
}

export interface Observation {
  readonly route: string;
  readonly mode: PinningMode;
  readonly seen: readonly SeenDefinition[];
  /** Who saw it (`gateway:<id>`), for the change history. */
  readonly actor: string;
  /** Epoch seconds. */
  readonly now: number;
}

export async function observeDefinitions(store: GuardStore, o: Observation): Promise<Set<string>> {
  if (o.mode === 'off') return new Set(o.seen.map((s) => s.tool));
  // A name listed twice is ambiguous (which definition would the client use?): neither is shown.
  const counts = new Map<string, number>();
  for (const s of o.seen) counts.set(s.tool, (counts.get(s.tool) ?? 0) + 1);
  const pins = await readPins(store.sql, o.route);
  const visible = new Set<string>();
  for (const seen of o.seen) {
    if (counts.get(seen.tool) !== 1) continue;
    const pin = pins.get(seen.tool);
    const outcome = decidePin(o.mode, pin, seen.digest);
    const applied = await apply(store, o, seen, pin, outcome.change);
    if (applied ? outcome.visible : await visibleNow(store, o.route, seen)) visible.add(seen.tool);
  }
  // The server's announced change (notifications/tools/list_changed) has now been compared.
  if ([...pins.values()].some((p) => p.recheck))
    await store.sql.run('UPDATE tool_pins SET recheck = 0 WHERE route = $1 AND recheck <> 0', [o.route]);
  return visible;
}

/** After a lost race with another gateway: visible only if the pin now approves exactly this digest. */
async function visibleNow(store: GuardStore, route: string, seen: SeenDefinition): Promise<boolean> {
  const pin = await readPin(store.sql, route, seen.tool);
  return pin?.status === 'approved' && pin.digest === seen.digest && pin.seenDigest === seen.digest;
}

/**
 * Applies one pin change; resolves false when the pin changed under it (another gateway got there first:
 * the caller then reads the pin as it is now). Conditional statements keep two gateways from both
 * recording the same change.
 */
async function apply(
  store: GuardStore,
  o: Observation,
  seen: SeenDefinition,
  pin: ToolPin | undefined,
  change: ReturnType<typeof decidePin>['change'],
): Promise<boolean> {
  if (change.kind === 'none') return true;
  const definition = JSON.stringify(seen.definition);
  const subject = pinSubject(o.route, seen.tool);
  return store.sql.transaction(async (tx) => {
    if (change.kind === 'first-seen') {
      const approved = change.status === 'approved';
      const inserted = await tx.run(
        `INSERT INTO tool_pins (route, tool, status, digest, definition, seen_digest, seen_definition, first_seen, updated, recheck)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 0) ON CONFLICT (route, tool) DO NOTHING`,
        [
          o.route,
          seen.tool,
          change.status,
          approved ? seen.digest : null,
          approved ? definition : null,
          seen.digest,
          definition,
          o.now,
        ],
      );
      if (inserted === 0) return false;
      await store.changes.record(
        {
          time: o.now,
          kind: 'tool',
          subject,
          actor: o.actor,
          reason: approved
            ? 'first seen on a tofu route: pinned as it is'
            : 'first seen on an approve route: pending approval',
          detail: { route: o.route, tool: seen.tool, status: change.status, digest: seen.digest },
        },
        tx,
      );
      return true;
    }
    const old = pin as ToolPin;
    const updated =
      change.kind === 'quarantine'
        ? await tx.run(
            `UPDATE tool_pins SET status = 'quarantined', seen_digest = $3, seen_definition = $4, updated = $5
             WHERE route = $1 AND tool = $2 AND status = 'approved' AND digest = $6`,
            [o.route, seen.tool, seen.digest, definition, o.now, old.digest ?? ''],
          )
        : await tx.run(
            `UPDATE tool_pins SET seen_digest = $3, seen_definition = $4, updated = $5
             WHERE route = $1 AND tool = $2 AND seen_digest = $6 AND status = $7`,
            [o.route, seen.tool, seen.digest, definition, o.now, old.seenDigest, old.status],
          );
    if (updated === 0) return false;
    // The drift is measured from the approved definition (what the operator trusted), when there is one.
    const drift = old.digest !== undefined && old.definition !== undefined;
    const changed = changedFields(old.definition ?? old.seenDefinition, seen.definition);
    if (drift) {
      await tx.run(
        `INSERT INTO tool_drift (route, tool, old_digest, new_digest, changed, first_seen, last_seen)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (route, tool, old_digest, new_digest) DO UPDATE SET last_seen = excluded.last_seen`,
        [o.route, seen.tool, old.digest ?? '', seen.digest, JSON.stringify(changed), o.now],
      );
    }
    await store.changes.record(
      {
        time: o.now,
        kind: 'tool',
        subject,
        actor: o.actor,
        reason:
          change.kind === 'quarantine'
            ? `definition changed after approval (${changed.join(', ')}): quarantined`
            : `definition changed again while ${old.status} (${changed.join(', ')})`,
        detail: {
          route: o.route,
          tool: seen.tool,
          status: change.kind === 'quarantine' ? 'quarantined' : old.status,
          ...(old.digest === undefined ? {} : { approvedDigest: old.digest }),
          oldDigest: old.seenDigest,
          newDigest: seen.digest,
          changed,
        },
      },
      tx,
    );
    return true;
  });
}
