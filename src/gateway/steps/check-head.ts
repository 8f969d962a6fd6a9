/**
 * Step 0, the request head (docs/gateway.md "Hosts and origins"): an origin-form target and exactly one
 * well-formed Host; the RFC 9728 metadata paths are answered here; then the route for Host and path (404
 * without one), a Host the route allows (421) and no browser Origin it does not know (403). All of it
 * before any credential is read: a DNS-rebound page gets nothing checked, opened or forwarded.
 */

import type { GatewayCall, GatewayStep } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';
import { checkHost, checkOrigin, checkTarget, readHost } from '../request-head.ts';

const METADATA_PATH = '/.well-known/oauth-protected-resource';

export const checkHead: GatewayStep = {
  name: 'check-head',
  run(call: GatewayCall): void {
    const { req, gw } = call;
    checkTarget(req);
    call.host = readHost(req);
    // Origin-form targets are appended to a fixed base, so `//other/x` stays a path, never an authority.
    const url = new URL(`http://gateway.invalid${req.url}`);
    call.url = url;
    if (url.pathname.startsWith(METADATA_PATH)) {
      gw.answerResourceMetadata(call.res, url.pathname);
      call.answered = true;
      return;
    }
    const route = gw.route(call.host, url.pathname);
    if (!route) throw new GatewayError('WARRANT_ROUTE_UNKNOWN', 'no route for this host and path');
    call.route = route;
    checkHost(call.host, gw.allowedHosts(route));
    checkOrigin(req, call.scheme, call.host, gw.publicUrl, route);
  },
};
