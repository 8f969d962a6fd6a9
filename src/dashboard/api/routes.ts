/**
 * `GET /ui/api/routes`: the gateway routes whose tools are pinned (MCP tools, A2A skills), for the Tools page,
 * which then reads each route's pins and drift through the admin API. Operators only.
 */
import { sendJson } from '../../sts/http/respond.ts';
import { operatorOnly } from '../scope.ts';
import type { ApiOperation } from './types.ts';

export const routes: ApiOperation = async ({ req, res, parts, session, ctx }) => {
  if (parts[0] !== 'routes' || parts.length !== 1 || req.method !== 'GET') return false;
  operatorOnly(session);
  sendJson(res, 200, {
    routes: ctx.routes().map((r) => ({
      pathPrefix: r.match.pathPrefix,
      protocol: r.protocol,
      audience: r.audience,
      pinning: r.tools?.pinning ?? 'off',
    })),
  });
  return true;
};
