/**
 * `GET /admin/agents/{id}/autonomy`: the agent's autonomy statement now (src/guard/autonomy/) and its
 * digest — the version the ledger holds once a gateway has recorded it.
 */
import type { AdminExtension } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { statementDigest } from '../autonomy/statement.ts';
import type { GuardRuntime } from '../runtime.ts';
import { agentIdOf } from './agent-ref.ts';

export function autonomyAdmin(guard: GuardRuntime): AdminExtension {
  return async (req, res, _url, parts) => {
    const [collection, ref, what, extra] = parts;
    if (collection !== 'agents' || ref === undefined || what !== 'autonomy' || extra !== undefined)
      return false;
    if (req.method !== 'GET') return false;
    const statement = guard.autonomy.statement(agentIdOf(ref, guard.trustDomain));
    sendJson(res, 200, { digest: statementDigest(statement), statement });
    return true;
  };
}
