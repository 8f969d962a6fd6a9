/**
 * The dashboard under `/ui` of the control plane (docs/dashboard.md): the built front-end as static files,
 * sign-in (operators with the admin credential, persons through OIDC), and the JSON API its pages call
 * under `/ui/api/`, every call in a server-side session and every state change CSRF-checked. Page paths
 * without a session are sent to the sign-in page; API calls without one are 401.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StsRouteExtension } from '../guard/approvals/approver-api.ts';
import { sendJson } from '../sts/http/respond.ts';
import { notFound, signInRequired } from './answers.ts';
import { adminProxy } from './api/admin-proxy.ts';
import { approvals } from './api/approvals.ts';
import { decisionStream } from './api/decision-stream.ts';
import { decisions } from './api/decisions.ts';
import { ledger } from './api/ledger.ts';
import { ledgerExport } from './api/ledger-export.ts';
import { lineage } from './api/lineage.ts';
import { me } from './api/me.ts';
import { record } from './api/record.ts';
import { routes } from './api/routes.ts';
import type { ApiOperation } from './api/types.ts';
import type { DashboardContext } from './context.ts';
import { checkSameOrigin } from './csrf.ts';
import { sessionCookie } from './session-cookie.ts';
import { finishOidc, startOidc } from './sign-in-oidc.ts';
import { signInOperator } from './sign-in-operator.ts';
import { sendAsset, sendIndex } from './static-files.ts';

const API: readonly ApiOperation[] = [
  me,
  decisionStream,
  decisions,
  approvals,
  lineage,
  record,
  ledgerExport,
  ledger,
  routes,
  adminProxy,
];

/** Pages anyone may load (the shell of the sign-in page). */
const PUBLIC_PAGES = new Set(['/ui/sign-in']);

export function dashboardRoutes(ctx: DashboardContext): StsRouteExtension {
  return async (req, res, url) => {
    const path = url.pathname;
    if (path !== '/ui' && !path.startsWith('/ui/')) return false;
    const method = req.method ?? 'GET';
    if (path.startsWith('/ui/api/')) {
      await api(ctx, req, res, url);
      return true;
    }
    if (path.startsWith('/ui/auth/')) {
      await auth(ctx, req, res, url);
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') throw notFound();
    if (path.startsWith('/ui/assets/')) {
      if (!sendAsset(res, ctx.assetsDir, path.slice('/ui/'.length))) throw notFound('no such file');
      return true;
    }
    if (path === '/ui/favicon.svg' && sendAsset(res, ctx.assetsDir, 'favicon.svg')) return true;
    if (!PUBLIC_PAGES.has(path) && ctx.sessions.of(req) === undefined) {
      const next = path === '/ui' || path === '/ui/' ? '' : `?next=${encodeURIComponent(path + url.search)}`;
      res.writeHead(302, { location: `/ui/sign-in${next}`, 'cache-control': 'no-store' });
      res.end();
      return true;
    }
    sendIndex(res, ctx.assetsDir);
    return true;
  };
}

async function api(
  ctx: DashboardContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const session = ctx.sessions.of(req);
  if (session === undefined) throw signInRequired();
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') checkSameOrigin(req, ctx.publicUrl(), session);
  const parts = url.pathname
    .slice('/ui/api/'.length)
    .split('/')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw notFound();
      }
    });
  for (const op of API) if (await op({ req, res, url, parts, session, ctx })) return;
  throw notFound();
}

async function auth(
  ctx: DashboardContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const path = url.pathname.slice('/ui/auth/'.length);
  const method = req.method ?? 'GET';
  if (path === 'options' && method === 'GET')
    return sendJson(res, 200, {
      operator: ctx.adminToken !== undefined,
      person: ctx.personSignIn ? { issuer: ctx.personSignIn.issuer, dev: ctx.devIdp !== undefined } : null,
    });
  if (path === 'operator' && method === 'POST') return signInOperator(ctx, req, res);
  if (path === 'oidc' && method === 'GET') return startOidc(ctx, res);
  if (path === 'callback' && method === 'GET') return finishOidc(ctx, req, res, url);
  if (path === 'sign-out' && method === 'POST') {
    const session = ctx.sessions.of(req);
    if (session === undefined) throw signInRequired();
    checkSameOrigin(req, ctx.publicUrl(), session);
    ctx.sessions.delete(session.id);
    return sendJson(res, 200, { signedOut: true }, { 'set-cookie': sessionCookie(ctx, '', 0) });
  }
  throw notFound();
}
