/**
 * On routes with `signedBodies`, an RFC 9421 message signature by the presenter's key (the warrant's
 * `cnf` key, proven by the DPoP proof) over the method, the target URI, the `Content-Digest` of the body
 * received and the warrant hash: the parameters that were approved are the parameters executed.
 */
import { verifyRequestSignature } from '../../core/http-signatures/message-signature.ts';
import { importPublicJwk } from '../../core/jose/jwk.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';

const EMPTY = Buffer.alloc(0);

export const verifySignature: GatewayStep = {
  name: 'verify-signature',
  run(call: GatewayCall): void {
    if (need(call.route, 'route').signedBodies !== true) return;
    const presented = need(call.presented, 'presented');
    const { req } = call;
    verifyRequestSignature({
      method: req.method ?? 'GET',
      url: `${call.origin}${req.url ?? '/'}`,
      body: call.body ?? EMPTY,
      headers: req.headers,
      warrantHash: presented.leaf.hash,
      key: importPublicJwk(presented.presenter),
      now: call.gw.now(),
    });
  },
};
