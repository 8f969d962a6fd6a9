/**
 * The breakers' admin endpoints (docs/guard.md#circuit-breakers):
 *
 * - `GET /admin/breakers` — the breakers that are open or half-open now, as the guard counters of this
 *   process see them (with Redis counters: every gateway's), and the recent breaker history (trips, closes,
 *   resets from the guard's change history, which every process writes to).
 * - `POST /admin/breakers/reset` `{key, reason?}` — closes a breaker (`agent:<id>`, `txn:<txn>`,
 *   `destination:<agent id> <audience>`): its state and window counts are cleared — in Redis directly, in
 *   memory by each gateway when it reads the reset from the change history — and the reset is recorded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AdminExtension, bad, jsonBody, str } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { kindOf } from '../breakers/state.ts';
import type { GuardRuntime } from '../runtime.ts';

/** How many history entries the listing carries. */
const HISTORY = 50;

export function breakersAdmin(guard: GuardRuntime): AdminExtension {
  return async (req: IncomingMessage, res: ServerResponse, _url: URL, parts: readonly string[]) => {
    if (parts[0] !== 'breakers') return false;
    const method = req.method ?? 'GET';
    if (parts.length === 1 && method === 'GET') {
      const now = guard.now();
      const open = await guard.breakers.list(now);
      const history = await recentHistory(guard);
      sendJson(res, 200, { counters: guard.counters.kind, settings: guard.breakers.settings, open, history });
      return true;
    }
    if (parts.length === 2 && parts[1] === 'reset' && method === 'POST') {
      const body = await jsonBody(req);
      const key = str(body, 'key');
      if (kindOf(key) === undefined)
        throw bad('key must be agent:<agent id>, txn:<txn> or destination:<agent id> <audience>');
      const reason = str(body, 'reason', 'reset by an operator');
      const wasOpen = await guard.breakers.reset(key, guard.now(), 'admin', reason);
      sendJson(res, 200, { key, reset: true, wasOpen });
      return true;
    }
    return false;
  };
}

/** The newest breaker changes (trips, closes, resets), newest first. */
async function recentHistory(guard: GuardRuntime): Promise<unknown[]> {
  const rows = await guard.store.sql.all(
    'SELECT id, time, subject, actor, reason, detail FROM guard_changes WHERE kind = $1 ORDER BY id DESC LIMIT $2',
    ['breaker', HISTORY],
  );
  return rows.map((r) => ({
    id: Number(r['id']),
    time: Number(r['time']),
    key: String(r['subject']),
    actor: String(r['actor']),
    reason: String(r['reason']),
    ...(JSON.parse(String(r['detail'])) as Record<string, unknown>),
  }));
}
