/**
 * Budgets in the admin API (DESIGN §6): `GET /admin/budgets[/{name}]` lists the configured budgets with
 * the limit in force and what each key (agent, person, txn, day) has spent; `PUT /admin/budgets/{name}`
 * `{limit, reason}` overrides a budget's limit, durably and recorded in the guard's change history (kind
 * `budget`, actor `admin`). Every gateway reads the limit in force from the store on each reservation,
 * so an override holds at once everywhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AdminExtension, bad, jsonBody, str } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { OAuthError } from '../../sts/oauth-error.ts';
import type { BudgetReport } from '../budgets/budgets.ts';
import type { GuardRuntime } from '../runtime.ts';

/** The highest limit (the configuration's bound: amounts are kept in millionths as safe integers). */
const MAX_LIMIT = 9_000_000_000;

export function budgetsAdmin(guard: GuardRuntime): AdminExtension {
  return async (req: IncomingMessage, res: ServerResponse, _url: URL, parts: readonly string[]) => {
    const [collection, name, ...rest] = parts;
    if (collection !== 'budgets' || rest.length > 0) return false;
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      const reports = await guard.budgets.list(name);
      if (name === undefined) {
        sendJson(res, 200, { items: reports.map(view) });
        return true;
      }
      const report = reports[0];
      if (report === undefined) throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such budget');
      sendJson(res, 200, view(report));
      return true;
    }
    if (method === 'PUT' && name !== undefined) {
      if (guard.budgets.get(name) === undefined)
        throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such budget');
      const body = await jsonBody(req);
      const limit = body['limit'];
      if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0 || limit > MAX_LIMIT)
        throw bad(`limit must be a number in 0..${MAX_LIMIT}`);
      const reason = str(body, 'reason');
      const change = await guard.budgets.setLimit(name, limit, 'admin', reason, guard.now());
      const [report] = await guard.budgets.list(name);
      sendJson(res, 200, { ...view(report!), change });
      return true;
    }
    return false;
  };
}

function view(report: BudgetReport): Record<string, unknown> {
  const { budget } = report;
  return {
    name: budget.name,
    scope: budget.scope,
    period: budget.period,
    quantity: budget.quantity,
    actions: budget.actions,
    onExceed: budget.onExceed,
    configuredLimit: budget.limit,
    limit: report.limit,
    ...(report.override
      ? {
          override: {
            limit: report.override.limit,
            time: report.override.time,
            actor: report.override.actor,
            reason: report.override.reason,
          },
        }
      : {}),
    spent: report.spent.map((s) => ({ key: s.key, spent: s.spent, updated: s.updated })),
  };
}
