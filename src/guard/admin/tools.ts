/**
 * Pinned tools, for operators (docs/guard.md): `GET /admin/tools?route=R[&tool=T]` lists the route's pins
 * (status, approved and last seen digests and definitions, re-check mark) and their drift (old and new
 * digest, the fields that changed); `POST /admin/tools/approve` `{route, tool, digest, reason?}` approves the
 * definition the server shows now; `POST /admin/tools/revoke` `{route, tool, reason?}` withdraws an approval.
 * Every change goes to the guard's change history with the operator's reason; gateways read the pins per
 * call and per answer, so a change counts from the next request everywhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WarrantError } from '../../core/errors.ts';
import { type AdminExtension, bad, jsonBody, str } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { OAuthError } from '../../sts/oauth-error.ts';
import { DIGEST_PATTERN } from '../pins/digest.ts';
import type { ToolPin } from '../pins/pin.ts';
import type { GuardRuntime } from '../runtime.ts';

const ROUTE = /^[A-Za-z0-9.:[\]_~-]*\/[\x21-\x7e]{0,511}$/;

/** A route key as operators give it: a path prefix, optionally behind a host. */
function routeParam(value: string | null | undefined): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512 || !ROUTE.test(value))
    throw bad('route must be a route path prefix such as /mcp (host/prefix for a route selected by host)');
  return value;
}

function toolParam(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256)
    throw bad('tool must be a tool name (1..256 characters)');
  return value;
}

function pinView(pin: ToolPin) {
  return {
    route: pin.route,
    tool: pin.tool,
    status: pin.status,
    ...(pin.digest === undefined ? {} : { digest: pin.digest }),
    ...(pin.definition === undefined ? {} : { definition: pin.definition }),
    seenDigest: pin.seenDigest,
    seenDefinition: pin.seenDefinition,
    firstSeen: pin.firstSeen,
    updated: pin.updated,
    recheck: pin.recheck,
  };
}

/** A pin operation's own refusals, as the admin API answers them (400 with the code). */
function refusal(error: unknown): unknown {
  if (
    error instanceof WarrantError &&
    (error.code === 'WARRANT_TOOL_UNKNOWN' || error.code === 'WARRANT_TOOL_DIGEST_MISMATCH')
  )
    return new OAuthError('invalid_request', error.code, error.message);
  return error;
}

async function knownRoute(guard: GuardRuntime, route: string): Promise<void> {
  if (!(await guard.pins.knows(route)))
    throw new OAuthError(
      'invalid_request',
      'WARRANT_TOOL_UNKNOWN',
      'no route pins its tools under this name',
    );
}

export function toolsAdmin(guard: GuardRuntime): AdminExtension {
  return async (req: IncomingMessage, res: ServerResponse, url: URL, parts: readonly string[]) => {
    if (parts[0] !== 'tools') return false;
    const method = req.method ?? 'GET';
    if (parts.length === 1 && method === 'GET') {
      const route = routeParam(url.searchParams.get('route'));
      const toolName = url.searchParams.get('tool');
      const tool = toolName === null ? undefined : toolParam(toolName);
      await knownRoute(guard, route);
      const configured = guard.pins.routes().find((r) => r.key === route);
      const pins = (await guard.pins.list(route)).filter((p) => tool === undefined || p.tool === tool);
      sendJson(res, 200, {
        route,
        ...(configured ? { pinning: configured.mode, protocol: configured.protocol } : {}),
        items: pins.map(pinView),
        drift: await guard.pins.drift(route, tool),
      });
      return true;
    }
    if (parts.length === 2 && method === 'POST' && (parts[1] === 'approve' || parts[1] === 'revoke')) {
      const body = await jsonBody(req);
      const route = routeParam(typeof body['route'] === 'string' ? body['route'] : undefined);
      const tool = toolParam(body['tool']);
      const reason = body['reason'] === undefined ? undefined : str(body, 'reason');
      await knownRoute(guard, route);
      const op = { route, tool, actor: 'admin', now: guard.now() };
      try {
        if (parts[1] === 'approve') {
          const digest = body['digest'];
          if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest))
            throw bad('digest must be sha256: and 64 lower-case hex digits');
          const pin = await guard.pins.approve({
            ...op,
            digest,
            reason: reason ?? 'approved by an operator',
          });
          sendJson(res, 200, pinView(pin));
        } else {
          const pin = await guard.pins.revoke({ ...op, reason: reason ?? 'revoked by an operator' });
          sendJson(res, 200, pinView(pin));
        }
      } catch (error) {
        throw refusal(error);
      }
      return true;
    }
    return false;
  };
}
