/**
 * Steps 1–3, the presented credentials (src/verify, what any recipient checks): the DPoP proof for this
 * method and URI (`htu`: the listener's scheme, the checked Host, the path), the warrant or the whole
 * `Warrant-Chain` for the route's audience and the proof's key, and every link's revocation status.
 */
import { verifyPresented } from '../../verify/verify-presented.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';

export const authenticate: GatewayStep = {
  name: 'authenticate',
  async run(call: GatewayCall): Promise<void> {
    const { gw, req } = call;
    const route = need(call.route, 'route');
    call.presented = await verifyPresented(
      {
        method: req.method ?? 'GET',
        htu: `${call.origin}${need(call.url, 'url').pathname}`,
        headers: req.headersDistinct,
      },
      {
        issuer: gw.issuer,
        keys: gw.keys(),
        audience: route.audience,
        replay: gw.replay,
        revocation: gw.revocation,
        now: gw.now(),
        cache: gw.chainCache,
        ...(gw.peers === undefined ? {} : { peers: gw.peers }),
      },
    );
  },
};
