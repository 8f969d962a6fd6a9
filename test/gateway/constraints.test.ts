/**
 * Grant constraints enforced on the call (DESIGN §6): the catalog says where each constrained value lives
 * (a JSON pointer into an `http` body, into MCP `tools/call` arguments or an A2A message's data part), and
 * the gateway checks every constraint of the covering grant — numeric maxima and enumerations — before it
 * decides. A value above the maximum, outside the enumeration, absent, ambiguous (a repeated member name)
 * or of the wrong type (a number sent as a string) is a denial with its own code: recorded with the grant
 * and the values checked, never forwarded. An allowed call reaches the upstream with `warrant-grant`.
 *
 * Real upstreams: a plain HTTP server, the official MCP SDK server (with the SDK client for the allowed
 * call) and the official A2A SDK agent (with the SDK client for the allowed call).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Grant } from '../../src/core/grants/index.ts';
import type { CatalogAction } from '../../src/guard/catalog.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type A2aAgent, dpopFetch as a2aFetch, createA2aAgent } from '../support/a2a-agent.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { type McpUpstream, mcpUpstream } from '../support/mcp-upstream.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  decisionsSince,
  expectRefusal,
  hop,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const PAY = `${TOOLS}/pay`;
const PAY_MCP = `${TOOLS}/pay-mcp`;
const REFUNDER = agentIdOf('refunder');

/** The grant under test: refunds up to 100, in euros or dollars. */
const LIMITED = { max_amount: 100, currency: ['EUR', 'USD'] };

const action = (
  name: string,
  match: CatalogAction['match'],
  parameters: CatalogAction['parameters'],
): CatalogAction => ({
  name,
  match,
  impact: 'medium',
  dataClass: 'internal',
  reversibility: 'compensable',
  blastRadius: 1,
  ...(parameters ? { parameters } : {}),
});

const CATALOG: CatalogAction[] = [
  action(
    'payments:refund',
    { protocol: 'http', method: 'POST', path: '/pay/refunds' },
    {
      amount: { in: 'body', pointer: '/amount' },
      currency: { in: 'body', pointer: '/currency' },
      // A refund reads no rows: the grant's max_rows bounds the listing, not this action.
      rows: { in: 'none' },
    },
  ),
  action(
    'payments:refunds.list',
    { protocol: 'http', method: 'GET', path: '/pay/refunds' },
    { rows: { in: 'query', name: 'limit' }, amount: { in: 'none' }, currency: { in: 'none' } },
  ),
  action(
    'payments:refund.tool',
    { protocol: 'mcp', tool: 'refund' },
    {
      amount: { in: 'arguments', pointer: '/amount' },
      currency: { in: 'arguments', pointer: '/currency' },
      rows: { in: 'none' },
    },
  ),
  action(
    'payments:refund.agent',
    { protocol: 'a2a', rpcMethod: 'SendMessage', skill: 'refund' },
    {
      amount: { in: 'arguments', pointer: '/amount' },
      currency: { in: 'arguments', pointer: '/currency' },
    },
  ),
  action('a2a:card.read', { protocol: 'a2a', rpcMethod: '$http:GET' }, undefined),
];

/** The constrained action of each protocol. */
const CATALOG_ACTION = {
  http: 'payments:refund',
  mcp: 'payments:refund.tool',
  a2a: 'payments:refund.agent',
} as const;

const up = new Upstreams();
/** `warrant-grant` headers the plain HTTP upstream received. */
const grantHeaders: string[] = [];
let h: GatewayHarness;
let mcp: McpUpstream;
let agent: A2aAgent;
let planner: AgentClient;
let executor: AgentClient;
/** executor → the HTTP payments tool; executor → the MCP payments server; planner → the A2A agent. */
const warrants: Record<'http' | 'mcp' | 'a2a', string> = { http: '', mcp: '', a2a: '' };
const grants: Record<'http' | 'mcp' | 'a2a', Grant> = {} as never;

before(async () => {
  mcp = mcpUpstream({ stateful: false, refund: true });
  agent = createA2aAgent();
  h = await startGatewayHarness({
    upstreams: {
      pay: up.handler('pay', (req, res) => {
        grantHeaders.push(String(req.headers['warrant-grant']));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"refunded":true}');
      }),
      mcp: mcp.handler,
      refunder: agent.handler,
    },
    routes: (u) => [
      { match: { pathPrefix: '/pay' }, upstream: u['pay']!, audience: PAY, protocol: 'http' },
      { match: { pathPrefix: '/mcp' }, upstream: `${u['mcp']}/rpc`, audience: PAY_MCP, protocol: 'mcp' },
      { match: { pathPrefix: '/a2a' }, upstream: u['refunder']!, audience: REFUNDER, protocol: 'a2a' },
    ],
    catalog: CATALOG,
  });
  agent.setPublicUrl(`${h.gw.url}/a2a`);
  planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  await h.sts.agent('refunder');
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'payments:*', resource: `${TOOLS}/*`, constraints: { ...LIMITED, max_rows: 50 } },
  ]);
  warrants.http = await hop(executor, root, PAY);
  warrants.mcp = await hop(executor, root, PAY_MCP);
  warrants.a2a = await rootWarrant(h, planner, REFUNDER, [
    { action: 'payments:*', resource: REFUNDER, constraints: LIMITED },
    { action: 'a2a:card.read', resource: REFUNDER },
  ]);
  for (const k of ['http', 'mcp', 'a2a'] as const) {
    const claims = JSON.parse(Buffer.from(warrants[k].split('.')[1]!, 'base64url').toString()) as {
      grants: Grant[];
    };
    grants[k] = claims.grants.find((g) => g.action === 'payments:*')!;
    assert.equal(grants[k].constraints?.['max_amount'], 100, 'the STS kept the maximum');
  }
});

after(async () => {
  await h?.close();
});

/** A request body per protocol carrying `args` (raw JSON text, so a member name can repeat). */
const bodies = {
  http: (args: string) => args,
  mcp: (args: string) =>
    `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"refund","arguments":${args}}}`,
  a2a: (args: string) =>
    `{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{"message":{"messageId":"m-1","role":"ROLE_USER",` +
    `"parts":[{"text":"please refund"},{"data":${args}}],"metadata":{"skill":"refund"}}}}`,
};
const paths = { http: '/pay/refunds', mcp: '/mcp', a2a: '/a2a' };
/** Requests that reached each upstream, whatever happened next. */
const reached = {
  http: () => up.hits['pay']!,
  mcp: () => mcp.seen.length,
  a2a: () => agent.seen.length,
};

function post(protocol: 'http' | 'mcp' | 'a2a', args: string): Promise<Response> {
  const client = protocol === 'a2a' ? planner : executor;
  return h.call(client, warrants[protocol], paths[protocol], {
    method: 'POST',
    body: bodies[protocol](args),
    headers: protocol === 'mcp' ? { accept: 'application/json, text/event-stream' } : {},
  });
}

/**
 * The call is refused with 403 and `code`, the upstream saw nothing, and exactly one deny record names
 * the action, the grant checked and the values read.
 */
async function denied(
  protocol: 'http' | 'mcp' | 'a2a',
  args: string,
  code: string,
  values: Record<string, unknown>,
): Promise<DecisionRecord> {
  const seen = reached[protocol]();
  const from = h.decisions.records.length;
  const r = await post(protocol, args);
  const error =
    code === 'WARRANT_CONSTRAINT_EXCEEDED' || code === 'WARRANT_CONSTRAINT_NOT_ALLOWED'
      ? 'insufficient_scope'
      : 'access_denied';
  await expectRefusal(r, { status: 403, error, code, secrets: [warrants[protocol]] });
  await sleep(20);
  assert.equal(reached[protocol](), seen, 'the upstream was not reached');
  const records = decisionsSince(h, from);
  assert.equal(records.length, 1, 'one decision recorded');
  const record = records[0]!;
  assert.equal(record.decision, 'deny');
  assert.equal(record.code, code);
  assert.equal(record.action, CATALOG_ACTION[protocol]);
  assert.deepEqual(record.used, grants[protocol], 'the record names the grant checked');
  assert.deepEqual(record.parameters ?? {}, values, 'the record holds the values read');
  return record;
}

for (const protocol of ['http', 'mcp', 'a2a'] as const) {
  describe(`${protocol} route: constraints of the covering grant`, () => {
    test('a number above max_amount: 403 WARRANT_CONSTRAINT_EXCEEDED, not forwarded, recorded', async () => {
      const record = await denied(
        protocol,
        '{"amount": 10000, "currency": "EUR"}',
        'WARRANT_CONSTRAINT_EXCEEDED',
        {
          amount: 10000,
        },
      );
      assert.ok(
        record.reasons?.some((r) => r.includes('max_amount 100')),
        String(record.reasons),
      );
    });

    test('a value outside the enumeration: 403 WARRANT_CONSTRAINT_NOT_ALLOWED', async () => {
      await denied(protocol, '{"amount": 10, "currency": "JPY"}', 'WARRANT_CONSTRAINT_NOT_ALLOWED', {
        amount: 10,
        currency: 'JPY',
      });
    });

    test('the constrained parameter missing: 403 WARRANT_PARAMETER_MISSING', async () => {
      await denied(protocol, '{"currency": "EUR"}', 'WARRANT_PARAMETER_MISSING', {});
    });

    test('a repeated member name: 403 WARRANT_PARAMETER_INVALID (never "last one wins")', async () => {
      await denied(
        protocol,
        '{"amount": 1, "currency": "EUR", "amount": 10000}',
        'WARRANT_PARAMETER_INVALID',
        {},
      );
    });

    test('a number sent as a string: 403 WARRANT_PARAMETER_INVALID', async () => {
      await denied(protocol, '{"amount": "10", "currency": "EUR"}', 'WARRANT_PARAMETER_INVALID', {});
    });
  });
}

/** Exactly one allow record since `from`, naming the grant and the values. */
function allowRecord(from: number, protocol: 'http' | 'mcp' | 'a2a', values: Record<string, unknown>) {
  // Session housekeeping (MCP notifications, the A2A card) is recorded too, under no or another action.
  const records = decisionsSince(h, from).filter((r) => r.action === CATALOG_ACTION[protocol]);
  assert.equal(records.length, 1);
  const record = records[0]!;
  assert.equal(record.decision, 'allow');
  assert.deepEqual(record.used, grants[protocol]);
  assert.deepEqual(record.parameters, values);
  return record;
}

test('http: an allowed constrained call is forwarded with warrant-grant and recorded with its values', async () => {
  const from = h.decisions.records.length;
  const r = await post('http', '{"amount": 100, "currency": "USD"}');
  assert.equal(r.status, 200, await r.text());
  assert.deepEqual(JSON.parse(grantHeaders.at(-1)!), grants.http);
  allowRecord(from, 'http', { amount: 100, currency: 'USD' });
});

test('http: a cached allow for a small amount never answers for a large one', async () => {
  const hits = h.gw.gateway.callCache.hits;
  const small = await post('http', '{"amount": 10, "currency": "EUR"}');
  assert.equal(small.status, 200, await small.text());
  await denied('http', '{"amount": 10000, "currency": "EUR"}', 'WARRANT_CONSTRAINT_EXCEEDED', {
    amount: 10000,
  });
  const again = await post('http', '{"amount": 11, "currency": "EUR"}');
  assert.equal(again.status, 200, await again.text());
  assert.ok(h.gw.gateway.callCache.hits > hits, 'the policy decision was answered from the cache');
});

test('http: a query parameter (max_rows) — within, above, repeated', async () => {
  const call = (q: string) => h.call(executor, warrants.http, `/pay/refunds${q}`);
  const ok = await call('?limit=50');
  assert.equal(ok.status, 200, await ok.text());
  for (const [q, code] of [
    ['?limit=51', 'WARRANT_CONSTRAINT_EXCEEDED'],
    ['?limit=5&limit=500', 'WARRANT_PARAMETER_INVALID'],
    ['?limit=5e1', 'WARRANT_PARAMETER_INVALID'],
    ['', 'WARRANT_PARAMETER_MISSING'],
  ] as const) {
    const hits = up.hits['pay']!;
    const r = await call(q);
    await expectRefusal(r, {
      status: 403,
      error: code === 'WARRANT_CONSTRAINT_EXCEEDED' ? 'insufficient_scope' : 'access_denied',
      code,
    });
    assert.equal(up.hits['pay'], hits, `${q}: not forwarded`);
  }
});

test('http: a form body that parses as JSON is not read as JSON (WARRANT_PARAMETER_INVALID)', async () => {
  const hits = up.hits['pay']!;
  const r = await h.call(executor, warrants.http, '/pay/refunds', {
    method: 'POST',
    body: '{"amount":1,"currency":"EUR","x":"&amount=10000"}',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  await expectRefusal(r, { status: 403, error: 'access_denied', code: 'WARRANT_PARAMETER_INVALID' });
  assert.equal(up.hits['pay'], hits);
});

test('mcp: the SDK client calls the tool within the grant; the server sees warrant-grant', async () => {
  const fetchWithWarrant: FetchLike = (url, init) => {
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    headers.set('authorization', `DPoP ${warrants.mcp}`);
    headers.set('dpop', executor.dpopProof(method, String(url).split('?')[0]!, warrants.mcp));
    return fetch(url, { ...init, headers });
  };
  const client = new Client({ name: 'executor', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp`), { fetch: fetchWithWarrant }),
  );
  try {
    const from = h.decisions.records.length;
    const result = await client.callTool({ name: 'refund', arguments: { amount: 42, currency: 'EUR' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'refunded 42 EUR' }]);
    const call = mcp.toolCalls.at(-1)!;
    assert.equal(call.tool, 'refund');
    assert.deepEqual(JSON.parse(call.grant!), grants.mcp);
    allowRecord(from, 'mcp', { amount: 42, currency: 'EUR' });
    // The SDK client too is refused past the maximum, and the server never runs the tool.
    const before = mcp.toolCalls.length;
    await assert.rejects(client.callTool({ name: 'refund', arguments: { amount: 4200, currency: 'EUR' } }));
    assert.equal(mcp.toolCalls.length, before);
  } finally {
    await client.close();
  }
});

test('a2a: the SDK client sends a message whose data part is within the grant', async () => {
  const viaGateway = a2aFetch(planner, () => warrants.a2a);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: viaGateway })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: viaGateway }),
    }),
  );
  const client = await factory.createFromUrl(`${h.gw.url}/a2a/`);
  const from = h.decisions.records.length;
  const seen = agent.seen.length;
  const { Message } = await import('@a2a-js/sdk');
  const result = await client.sendMessage({
    message: Message.fromJSON({
      messageId: crypto.randomUUID(),
      role: 'ROLE_USER',
      parts: [{ text: 'refund order 7' }, { data: { amount: 99, currency: 'USD' } }],
      metadata: { skill: 'refund' },
    }),
  } as never);
  assert.ok('parts' in result, 'the agent answered');
  const forwarded = agent.seen.slice(seen).find((s) => s.method === 'POST')!;
  assert.deepEqual(JSON.parse(String(forwarded.headers['warrant-grant'])), grants.a2a);
  allowRecord(from, 'a2a', { amount: 99, currency: 'USD' });
});

test('a2a: two data parts are ambiguous (which would the agent read?): WARRANT_PARAMETER_INVALID', async () => {
  const seen = agent.seen.length;
  const body =
    '{"jsonrpc":"2.0","id":8,"method":"SendMessage","params":{"message":{"messageId":"m-2","role":"ROLE_USER",' +
    '"parts":[{"data":{"amount":1,"currency":"EUR"}},{"data":{"amount":10000,"currency":"EUR"}}],"metadata":{"skill":"refund"}}}}';
  const r = await h.call(planner, warrants.a2a, '/a2a', { method: 'POST', body });
  await expectRefusal(r, { status: 403, error: 'access_denied', code: 'WARRANT_PARAMETER_INVALID' });
  assert.equal(agent.seen.length, seen);
});

test('a grant constraining a value the catalog does not locate is unenforceable: denied', async () => {
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'payments:*', resource: `${TOOLS}/*`, constraints: { max_fee: 1 } },
  ]);
  const leaf = await hop(executor, root, PAY);
  const hits = up.hits['pay']!;
  const r = await h.call(executor, leaf, '/pay/refunds', {
    method: 'POST',
    body: '{"amount":1,"currency":"EUR"}',
  });
  await expectRefusal(r, { status: 403, error: 'access_denied', code: 'WARRANT_CONSTRAINT_UNENFORCEABLE' });
  assert.equal(up.hits['pay'], hits);
});
