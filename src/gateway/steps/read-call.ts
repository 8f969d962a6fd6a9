/**
 * What the request asks for, per protocol (src/gateway/read-call.ts): one call descriptor per operation
 * (one per JSON-RPC request of a batch), and the request's parameters, read on demand per call.
 */
import { type GatewayCall, type GatewayStep, need } from '../context.ts';
import { readCall as readCalls } from '../read-call.ts';
import { RequestParameters } from '../read-parameters.ts';

export const readCall: GatewayStep = {
  name: 'read-call',
  run(call: GatewayCall): void {
    const url = need(call.url, 'url');
    const { req } = call;
    call.calls = readCalls(need(call.route, 'route').protocol, req.method ?? 'GET', url.pathname, call.body);
    call.parameters = new RequestParameters(url, req, call.body);
  },
};
