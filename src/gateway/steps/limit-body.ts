/**
 * The request body, within `limits.maxBodyBytes`: a declared oversized body is refused before any
 * decision (413). JSON-RPC and OpenAI calls are read whole (the action is in the body); plain HTTP
 * streams through at forward time (cut at the limit there), unless the route requires a signature over
 * the body or the call's catalog action reads a parameter from it. `100 Continue` is sent only now, once
 * the credentials are verified and the body is wanted.
 */
import { declaresMoreThan, readBody, sendContinue } from '../../http/body.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';

export const tooLarge = (limit: number): GatewayError =>
  new GatewayError('WARRANT_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`);

export const limitBody: GatewayStep = {
  name: 'limit-body',
  run(call: GatewayCall): Promise<void> | undefined {
    const { req, res, catalog } = call;
    const route = need(call.route, 'route');
    const limit = call.gw.limits.maxBodyBytes;
    if (declaresMoreThan(req, limit)) throw tooLarge(limit);
    const method = req.method ?? 'GET';
    let needsBody = route.signedBodies === true || (route.protocol !== 'http' && method === 'POST');
    if (!needsBody && route.protocol === 'http' && catalog.readsBody) {
      // Resolved here once; the guard reuses it.
      const action = catalog.resolve({ protocol: 'http', method, path: need(call.url, 'url').pathname });
      call.httpAction = { action };
      needsBody = action?.readsBody === true;
    }
    if (!needsBody) return undefined;
    sendContinue(req, res);
    return readBody(req, limit, () => tooLarge(limit)).then((body) => {
      call.body = body;
    });
  },
};
