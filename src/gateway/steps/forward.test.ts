/**
 * The forward step on loopback servers (port 0): the upstream gets the verified identity and none of the
 * caller's credentials or claimed identity; the outcome record says what became of the call.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { Pool } from 'undici';
import {
  fakePolicy,
  fakeServices,
  HOST,
  LEAF,
  presenting,
  ROUTE,
} from '../../../test/support/gateway-call.ts';
import { ActionCatalog } from '../../guard/catalog.ts';
import { listen } from '../../http/listen.ts';
import { TRACING_OFF } from '../../telemetry/index.ts';
import { GatewayCall, type GatewayRoute } from '../context.ts';
import { GatewayError, sendGatewayError } from '../gateway-error.ts';
import { GATEWAY_STEPS } from './index.ts';

const catalog = new ActionCatalog([
  {
    name: 'crm:read',
    match: { protocol: 'http', method: 'GET', path: '/crm/*' },
    resource: 'crm/contacts',
    impact: 'low',
    dataClass: 'internal',
    reversibility: 'reversible',
    blastRadius: 1,
    parameters: { rows: { in: 'none' } },
  },
]);

let seen: IncomingHttpHeaders | undefined;
let upstream: Server;
let gateway: Server;
let gatewayUrl = '';
let route: GatewayRoute = ROUTE;
const pools: Pool[] = [];
const services = fakeServices({
  route: () => route,
  pool: (origin) => {
    const pool = new Pool(origin);
    pools.push(pool);
    return pool;
  },
});

before(async () => {
  upstream = createServer((req, res) => {
    seen = req.headers;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  const up = await listen(upstream, 0, '127.0.0.1');
  route = { ...ROUTE, upstream: `${up.url}/api` };
  gateway = createServer(async (req, res) => {
    const trace = TRACING_OFF.traceContextFor(req.headers);
    const call = new GatewayCall(services, req, res, { catalog, policy: fakePolicy(), trace });
    try {
      for (const step of GATEWAY_STEPS) await step.run(call);
    } catch (error) {
      if (!res.headersSent) sendGatewayError(res, GatewayError.from(error));
    }
  });
  gatewayUrl = (await listen(gateway, 0, '127.0.0.1')).url;
});

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  for (const s of [upstream, gateway]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** GET /crm/contacts with these headers (node:http: fetch would not send our Host). */
function send(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gatewayUrl}/crm/contacts`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

test('the upstream gets the verified identity, the decision id and the grant; never the credentials', async () => {
  const r = await send({
    ...presenting('GET', '/crm/contacts'),
    'warrant-actor': 'spiffe://forged',
    'x-other': '1',
  });
  assert.equal(r.status, 200, r.body);
  assert.equal(seen?.['authorization'], undefined);
  assert.equal(seen?.['dpop'], undefined);
  assert.notEqual(seen?.['warrant-actor'], 'spiffe://forged');
  assert.match(String(seen?.['warrant-actor']), /^spiffe:\/\/warrant\.test\/agent\/a2$/);
  assert.equal(seen?.['x-other'], '1');
  assert.equal(seen?.['host'], HOST, 'the checked Host is preserved');
  assert.equal(seen?.['warrant-token'], LEAF, 'an agent recipient gets its subject token');
  const decision = services.log.records.find((x) => x.kind === 'decision' && x.decision === 'allow');
  assert.equal(seen?.['warrant-decision'], decision?.id);
  assert.deepEqual(JSON.parse(String(seen?.['warrant-grant'])).action, 'crm:read');
  // The outcome record follows (no `note` on the memory log: appended).
  await new Promise((r) => setTimeout(r, 20));
  const outcome = services.log.records.find((x) => x.kind === 'outcome' && x.decisionId === decision?.id);
  assert.equal(outcome?.outcome, 'forwarded');
  assert.equal(outcome?.status, 200);
});

test('an upstream that cannot be reached: 502 after the allow, and an upstream_failed outcome', async () => {
  const saved = route;
  route = { ...ROUTE, upstream: 'http://127.0.0.1:9/api' };
  try {
    const r = await send(presenting('GET', '/crm/contacts'));
    assert.equal(r.status, 502);
    assert.equal(JSON.parse(r.body).code, 'WARRANT_UPSTREAM_FAILED');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outcome = services.log.records.filter((x) => x.kind === 'outcome').at(-1);
    assert.equal(outcome?.outcome, 'upstream_failed');
    assert.equal(outcome?.status, 502);
    assert.equal(outcome?.error, 'ECONNREFUSED');
  } finally {
    route = saved;
  }
});
