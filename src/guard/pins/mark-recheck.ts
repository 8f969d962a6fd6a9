/**
 * The server announced that its tools changed (`notifications/tools/list_changed`): the route's pins are
 * marked for a re-check, shown to operators until the next `tools/list` answer has been compared. (Every
 * answer is compared anyway; the mark says a change is expected and nobody has listed since.)
 */
import type { GuardStore } from '../store/open-guard-store.ts';

/** Resolves whether anything was newly marked (an announcement repeated before a re-list changes nothing). */
export async function markRecheck(
  store: GuardStore,
  o: { readonly route: string; readonly actor: string; readonly now: number },
): Promise<boolean> {
  return store.sql.transaction(async (tx) => {
    const marked = await tx.run(
      'UPDATE tool_pins SET recheck = 1, updated = $2 WHERE route = $1 AND recheck = 0',
      [o.route, o.now],
    );
    if (marked === 0) return false;
    await store.changes.record(
      {
        time: o.now,
        kind: 'tool',
        subject: o.route,
        actor: o.actor,
        reason: 'the server announced a change of its tools (notifications/tools/list_changed): re-check',
        detail: { route: o.route, recheck: true, pins: marked },
      },
      tx,
    );
    return true;
  });
}
