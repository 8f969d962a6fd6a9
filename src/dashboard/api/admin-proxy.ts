/**
 * `/ui/api/admin/<path>`: an operator's page calls the admin API (`/admin/<path>`: agents, trust, autonomy,
 * breakers, budgets, tools, approvals, contain — docs/sts.md's OpenAPI document) through its session; the
 * answer is the admin API's own. Operators only; state changes pass the CSRF check first (the router).
 */
import { readBody } from '../../sts/http/respond.ts';
import { badRequest } from '../answers.ts';
import { operatorOnly } from '../scope.ts';
import { adminCall } from './admin-call.ts';
import type { ApiOperation } from './types.ts';

const METHODS = new Set(['GET', 'POST', 'PUT']);

export const adminProxy: ApiOperation = async ({ req, res, url, parts, session, ctx }) => {
  if (parts[0] !== 'admin' || parts.length < 2) return false;
  operatorOnly(session);
  const method = req.method ?? 'GET';
  if (!METHODS.has(method)) throw badRequest('use GET, POST or PUT');
  const path = `/${parts.slice(1).map(encodeURIComponent).join('/')}${url.search}`;
  const body = method === 'GET' ? undefined : (await readBody(req, 64 * 1024)).toString('utf8');
  const answer = await adminCall(ctx, method, path, body);
  res.writeHead(answer.status, {
    'content-type': answer.contentType,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(answer.body);
  return true;
};
