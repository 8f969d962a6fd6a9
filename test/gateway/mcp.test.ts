/**
 * The official MCP TypeScript SDK, client and server (streamable HTTP), talking through the gateway
 * (DESIGN §7): session calls need only a valid warrant, `tools/list` is filtered to what the caller may
 * call, `tools/call` resolves to catalog actions under the action policy, every call is recorded before
 * anything is forwarded, and the upstream sees verified identity headers but never the caller's
 * credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { tokenHash } from '../../src/core/jose/hash.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { type McpUpstream, mcpUpstream } from '../support/mcp-upstream.ts';
import { agentIdOf } from '../support/sts-harness.ts';

const AUDIENCE = 'https://tools.warrant.test/crm-mcp';
const EXECUTOR = agentIdOf('executor');

/** A fetch for the SDK transport: `Authorization: DPoP <warrant>`, a fresh proof per request, optionally the chain. */
function dpopFetch(agent: AgentClient, warrant: string, chain?: readonly string[]): FetchLike {
  return (url, init) => {
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    headers.set('authorization', `DPoP ${warrant}`);
    headers.set('dpop', agent.dpopProof(method, String(url).split('?')[0]!, warrant));
    if (chain) headers.set('warrant-chain', chain.join(', '));
    return fetch(url, { ...init, headers });
  };
}

function claimsOf(compact: string): { txn: string; sub: string } {
  return JSON.parse(Buffer.from(compact.split('.')[1]!, 'base64url').toString('utf8'));
}

async function waitFor(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const rpc = (id: number, method: string, params?: unknown) =>
  ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }) as const;

describe('MCP SDK client and server through the gateway', () => {
  let h: GatewayHarness;
  let sse: McpUpstream;
  let json: McpUpstream;
  let executor: AgentClient;
  let root: string;
  let hop: string;
  let client: Client;
  let transport: StreamableHTTPClientTransport;

  const decisionsSince = (n: number): DecisionRecord[] =>
    h.decisions.records.slice(n).filter((r) => r.kind === 'decision');

  /** A raw POST to the gateway as the executor, in the live session (for what the SDK will not send). */
  const rawPost = (path: string, body: string, extra: Record<string, string> = {}) =>
    h.call(executor, hop, path, {
      method: 'POST',
      body,
      chain: [root, hop],
      headers: {
        accept: 'application/json, text/event-stream',
        ...(transport.sessionId ? { 'mcp-session-id': transport.sessionId } : {}),
        ...(transport.protocolVersion ? { 'mcp-protocol-version': transport.protocolVersion } : {}),
        ...extra,
      },
    });

  before(async () => {
    sse = mcpUpstream({ stateful: true });
    json = mcpUpstream({ stateful: false });
    h = await startGatewayHarness({
      upstreams: { sse: sse.handler, json: json.handler },
      routes: (u) => [
        { match: { pathPrefix: '/mcp' }, upstream: `${u['sse']}/mcp`, audience: AUDIENCE, protocol: 'mcp' },
        {
          match: { pathPrefix: '/mcp-json' },
          upstream: `${u['json']}/rpc`,
          audience: AUDIENCE,
          protocol: 'mcp',
        },
      ],
      catalog: [
        {
          name: 'crm:contacts.get',
          match: { protocol: 'mcp', tool: 'get_contact' },
          impact: 'low',
          dataClass: 'internal',
          reversibility: 'reversible',
          blastRadius: 1,
        },
        {
          name: 'crm:contacts.delete',
          match: { protocol: 'mcp', tool: 'delete_contact' },
          impact: 'critical',
          dataClass: 'internal',
          reversibility: 'irreversible',
          blastRadius: 1,
        },
      ],
    });
    const planner = await h.sts.agent('planner');
    executor = await h.sts.agent('executor', { allowedAudiences: ['https://tools.warrant.test/*'] });
    root = (
      await planner.exchange({
        subjectToken: h.sts.idToken('alice', planner),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: EXECUTOR,
        grants: [{ action: 'crm:*', resource: 'https://tools.warrant.test/*' }],
      })
    ).access_token;
    hop = (
      await executor.exchange({
        subjectToken: root,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: AUDIENCE,
      })
    ).access_token;
    client = new Client({ name: 'executor', version: '1.0.0' });
    transport = new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp`), {
      fetch: dpopFetch(executor, hop, [root, hop]),
    });
  });

  after(async () => {
    await client?.close().catch(() => {});
    await sse?.close();
    await json?.close();
    await h?.close();
  });

  test('initialize succeeds through the gateway and opens a session', async () => {
    await client.connect(transport);
    assert.equal(client.getServerVersion()?.name, 'crm-mcp');
    assert.ok(transport.sessionId, 'the upstream session id reaches the client');
    const init = sse.seen.find(
      (s) => s.method === 'POST' && (s.body as { method?: string }).method === 'initialize',
    );
    assert.ok(init, 'the upstream saw initialize');
    assert.equal(init.path, '/mcp', 'the route prefix is replaced by the upstream path');
    assert.equal(init.headers['warrant-person'], 'alice');
    assert.equal(init.headers['warrant-actor'], EXECUTOR);
    assert.equal(init.headers['warrant-txn'], claimsOf(hop).txn);
    assert.ok(init.headers['warrant-chain-digest']);
    // The client's follow-up GET (server-to-client SSE stream) is a session call and passes too.
    await waitFor(() => sse.seen.some((s) => s.method === 'GET'), 'the SSE GET');
    const get = sse.seen.find((s) => s.method === 'GET')!;
    assert.equal(get.headers['mcp-session-id'], transport.sessionId);
    assert.equal(get.headers['warrant-person'], 'alice');
    const sessionDecisions = h.decisions.records.filter(
      (r) => r.kind === 'decision' && r.reasons?.includes('protocol session call'),
    );
    assert.ok(sessionDecisions.length >= 2, 'initialize and the notifications are recorded');
    assert.ok(sessionDecisions.every((r) => r.decision === 'allow' && r.action === undefined));
  });

  test('tools/list (SSE response) answers only the tools the caller may call', async () => {
    const { tools } = await client.listTools();
    // delete_contact needs a person's approval (above the bound), but the caller may call it once approved.
    assert.deepEqual(
      tools.map((t) => t.name),
      ['get_contact', 'delete_contact'],
    );
  });

  test('tools/list (JSON response, stateless upstream) is filtered the same way', async () => {
    // Straight to the upstream, all three tools are offered...
    const direct = new Client({ name: 'direct', version: '1.0.0' });
    const upstreamBase = h.gw.gateway.routes.find((r) => r.match.pathPrefix === '/mcp-json')!.upstream;
    await direct.connect(new StreamableHTTPClientTransport(new URL('/direct', upstreamBase)));
    try {
      assert.deepEqual((await direct.listTools()).tools.map((t) => t.name).sort(), [
        'delete_contact',
        'export_all',
        'get_contact',
      ]);
    } finally {
      await direct.close();
    }
    // ...through the gateway only the ones in the catalog the caller may call (export_all is unknown).
    const viaGateway = new Client({ name: 'executor-json', version: '1.0.0' });
    await viaGateway.connect(
      new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp-json`), {
        fetch: dpopFetch(executor, hop),
      }),
    );
    try {
      assert.deepEqual(
        (await viaGateway.listTools()).tools.map((t) => t.name),
        ['get_contact', 'delete_contact'],
      );
      const result = await viaGateway.callTool({ name: 'get_contact', arguments: { id: '7' } });
      assert.equal(result.isError, undefined);
      assert.ok(json.seen.every((s) => s.path === '/rpc' || s.path === '/direct'));
      await waitFor(() => json.streams.open === 1, 'the SSE GET through the gateway');
    } finally {
      await viaGateway.close();
    }
    // The client going away releases the upstream stream the gateway was relaying.
    await waitFor(() => json.streams.open === 0, 'the upstream SSE stream to be released');
  });

  test('tools/list inside a JSON-RPC batch is filtered too (JSON and SSE answers)', async () => {
    const batch = JSON.stringify([rpc(201, 'tools/list'), rpc(202, 'ping')]);
    const toolNames = async (r: Response): Promise<string[][]> => {
      const text = await r.text();
      const messages = (r.headers.get('content-type') ?? '').startsWith('text/event-stream')
        ? text
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .flatMap((l) => JSON.parse(l.slice(5)) as unknown)
        : (JSON.parse(text) as unknown[]);
      return (messages as { result?: { tools?: { name: string }[] } }[])
        .filter((m) => m.result?.tools)
        .map((m) => m.result!.tools!.map((t) => t.name));
    };
    const viaSse = await rawPost('/mcp', batch);
    assert.equal(viaSse.status, 200);
    assert.match(viaSse.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.deepEqual(await toolNames(viaSse), [['get_contact', 'delete_contact']]);
    const viaJson = await h.call(executor, hop, '/mcp-json', {
      method: 'POST',
      body: batch,
      headers: { accept: 'application/json, text/event-stream' },
    });
    assert.equal(viaJson.status, 200);
    assert.match(viaJson.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await toolNames(viaJson), [['get_contact', 'delete_contact']]);
  });

  test('tools/call get_contact is allowed end to end and recorded', async () => {
    const mark = h.decisions.records.length;
    const result = await client.callTool({ name: 'get_contact', arguments: { id: '42' } });
    const content = result.content as { type: string; text: string }[];
    assert.deepEqual(JSON.parse(content[0]!.text), { id: '42', name: 'Ada Lovelace', servedTo: 'alice' });
    const call = sse.toolCalls.at(-1)!;
    assert.deepEqual(call, {
      tool: 'get_contact',
      person: 'alice',
      actor: EXECUTOR,
      txn: claimsOf(hop).txn,
      // The grant the call was allowed under (unconstrained here).
      grant: JSON.stringify({ action: 'crm:*', resource: 'https://tools.warrant.test/*' }),
    });
    const [record, ...more] = decisionsSince(mark);
    assert.equal(more.length, 0);
    assert.ok(record);
    assert.equal(record.decision, 'allow');
    assert.equal(record.action, 'crm:contacts.get');
    assert.equal(record.resource, AUDIENCE);
    assert.equal(record.recipient, AUDIENCE);
    assert.equal(record.person?.sub, 'alice');
    assert.equal(record.caller, EXECUTOR);
    assert.equal(record.txn, claimsOf(hop).txn);
    assert.deepEqual(record.chain, [
      { hash: tokenHash(root), actor: agentIdOf('planner') },
      { hash: tokenHash(hop), actor: EXECUTOR },
    ]);
    // The upstream was told which decision let the call through, and the outcome is recorded.
    const forwarded = sse.seen.findLast((s) => (s.body as { method?: string }).method === 'tools/call')!;
    assert.equal(forwarded.headers['warrant-decision'], record.id);
    await waitFor(
      () => h.decisions.records.some((r) => r.kind === 'outcome' && r.decisionId === record.id),
      'the outcome record',
    );
    assert.equal(
      h.decisions.records.find((r) => r.kind === 'outcome' && r.decisionId === record.id)?.status,
      200,
    );
  });

  // Risk above the caller's bound is no longer a permanent deny: it needs a person's approval
  // (guard.autonomy.bounds). Without a guard store the refusal carries no approval id (approvals.test.ts).
  test('tools/call delete_contact (critical, no approval) is refused with 403 approval_required and recorded', async () => {
    const mark = h.decisions.records.length;
    const seen = sse.seen.length;
    const error = await client.callTool({ name: 'delete_contact', arguments: { id: '42' } }).then(
      () => assert.fail('delete_contact must be refused'),
      (e: unknown) => e,
    );
    // A JSON-RPC error of the call (protocol-native), not a transport failure: the session goes on.
    assert.ok(error instanceof McpError, String(error));
    assert.equal(error.code, -32060);
    assert.match(error.message, /WARRANT_APPROVAL_REQUIRED/);
    assert.equal((error.data as { code: string }).code, 'WARRANT_APPROVAL_REQUIRED');
    assert.equal(sse.seen.length, seen, 'nothing reached the upstream');
    assert.ok(!sse.toolCalls.some((c) => c.tool === 'delete_contact'));
    const [record, ...more] = decisionsSince(mark);
    assert.equal(more.length, 0);
    assert.ok(record);
    assert.equal(record.decision, 'approval_required');
    assert.equal(record.code, 'WARRANT_APPROVAL_REQUIRED');
    assert.equal(record.action, 'crm:contacts.delete');
    assert.equal(record.person?.sub, 'alice');
    assert.equal(record.caller, EXECUTOR);
    assert.ok(
      record.reasons?.some((r) => r.includes("needs a person's approval")),
      String(record.reasons),
    );
    // The same refusal as a raw request: a JSON-RPC error response (200) with the stable code.
    const raw = await rawPost(
      '/mcp',
      JSON.stringify(rpc(90, 'tools/call', { name: 'delete_contact', arguments: { id: '1' } })),
    );
    assert.equal(raw.status, 200);
    const answer = (await raw.json()) as { jsonrpc: string; id: number; error: { data: { code: string } } };
    assert.equal(answer.jsonrpc, '2.0');
    assert.equal(answer.id, 90);
    assert.equal(answer.error.data.code, 'WARRANT_APPROVAL_REQUIRED');
    // The session still works after a refusal.
    assert.ok((await client.callTool({ name: 'get_contact', arguments: { id: '1' } })).content);
  });

  test('tools/call of a tool missing from the catalog is refused as WARRANT_ACTION_UNKNOWN', async () => {
    const mark = h.decisions.records.length;
    const seen = sse.seen.length;
    const error = await client.callTool({ name: 'export_all', arguments: {} }).then(
      () => assert.fail('export_all must be refused'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof McpError, String(error));
    assert.equal(error.code, -32060);
    assert.match(error.message, /WARRANT_ACTION_UNKNOWN/);
    assert.equal((error.data as { code: string }).code, 'WARRANT_ACTION_UNKNOWN');
    assert.equal(sse.seen.length, seen);
    const [record] = decisionsSince(mark);
    assert.equal(record?.decision, 'deny');
    assert.equal(record?.code, 'WARRANT_ACTION_UNKNOWN');
    assert.equal(record?.action, undefined);
    assert.ok(record?.reasons?.some((r) => r.includes('export_all')));
  });

  test('a JSON-RPC batch is refused as a whole when one call is not allowed', async () => {
    const seen = sse.seen.length;
    const mark = h.decisions.records.length;
    const batch = [
      rpc(101, 'tools/call', { name: 'get_contact', arguments: { id: '1' } }),
      rpc(102, 'tools/call', { name: 'delete_contact', arguments: { id: '1' } }),
    ];
    const r = await rawPost('/mcp', JSON.stringify(batch));
    assert.equal(r.status, 403);
    const answer = (await r.json()) as { id: null; error: { data: { code: string } } };
    assert.equal(answer.error.data.code, 'WARRANT_APPROVAL_REQUIRED');
    assert.equal(answer.id, null, 'a batch has no one id');
    // Unknown tool inside a batch, behind an allowed session call.
    const r2 = await rawPost(
      '/mcp',
      JSON.stringify([rpc(103, 'ping'), rpc(104, 'tools/call', { name: 'export_all', arguments: {} })]),
    );
    assert.equal(r2.status, 403);
    assert.equal(((await r2.json()) as { code: string }).code, 'WARRANT_ACTION_UNKNOWN');
    assert.equal(sse.seen.length, seen, 'the upstream never saw either batch');
    assert.ok(!sse.toolCalls.some((c) => c.tool === 'delete_contact' || c.tool === 'export_all'));
    const records = decisionsSince(mark);
    assert.deepEqual(
      records.map((d) => [d.decision, d.action]),
      [
        ['approval_required', 'crm:contacts.delete'],
        ['deny', undefined],
      ],
    );
  });

  test('malformed JSON-RPC is refused with 400 WARRANT_REQUEST_MALFORMED', async () => {
    const seen = sse.seen.length;
    const mark = h.decisions.records.length;
    const bodies = [
      'this is not json',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call"',
      JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'tools/call', params: { name: 'get_contact' } }),
      JSON.stringify({ id: 1, method: 'ping' }),
      JSON.stringify(rpc(1, 'tools/call', { arguments: { id: '1' } })),
      JSON.stringify(rpc(1, 'tools/call', { name: 42 })),
      JSON.stringify(rpc(1, 'tools/call', { name: '' })),
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 42 }),
      JSON.stringify([]),
      JSON.stringify(['not an object']),
      JSON.stringify([rpc(1, 'ping'), { jsonrpc: '2.0', id: 2, method: 'tools/call' }]),
    ];
    for (const body of bodies) {
      const r = await rawPost('/mcp', body);
      assert.equal(r.status, 400, body);
      const answer = (await r.json()) as { error: string; code: string };
      assert.equal(answer.code, 'WARRANT_REQUEST_MALFORMED', body);
      assert.equal(answer.error, 'invalid_request', body);
    }
    assert.equal(sse.seen.length, seen, 'nothing malformed reached the upstream');
    assert.equal(decisionsSince(mark).length, 0);
  });

  test('without credentials: 401 with a resource_metadata pointer to RFC 9728 metadata naming the STS', async () => {
    const seen = sse.seen.length;
    const initialize = JSON.stringify(
      rpc(1, 'initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'anonymous', version: '1' },
      }),
    );
    const r = await fetch(`${h.gw.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: initialize,
    });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_CREDENTIALS_MISSING');
    const challenge = r.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer resource_metadata="[^"]+", DPoP /);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    assert.ok(metadataUrl, challenge);
    assert.equal(metadataUrl, `${h.gw.url}/.well-known/oauth-protected-resource/mcp`);
    const metadata = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
    assert.equal(metadata['resource'], `${h.gw.url}/mcp`);
    assert.deepEqual(metadata['authorization_servers'], [h.sts.url.replace(/\/+$/, '')]);
    assert.equal(metadata['dpop_bound_access_tokens_required'], true);
    assert.equal(metadata['warrant_audience'], AUDIENCE);
    // A bearer warrant (no proof of possession) is refused the same way.
    const bearer = await fetch(`${h.gw.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${hop}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: initialize,
    });
    assert.equal(bearer.status, 401);
    assert.match(bearer.headers.get('www-authenticate') ?? '', /resource_metadata="/);
    await bearer.body?.cancel();
    // And an SDK client without credentials fails to connect with the 401.
    const anonymous = new Client({ name: 'anonymous', version: '1.0.0' });
    const error = await anonymous.connect(new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp`))).then(
      () => assert.fail('connect without credentials must fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StreamableHTTPError, String(error));
    assert.equal(error.code, 401);
    await anonymous.close();
    assert.equal(sse.seen.length, seen, 'nothing unauthenticated reached the upstream');
  });

  test('ending the session (DELETE) passes as a session call', async () => {
    const sessionId = transport.sessionId!;
    assert.ok(sse.sessions.has(sessionId));
    await transport.terminateSession();
    assert.ok(!sse.sessions.has(sessionId), 'the upstream closed the session');
    const del = sse.seen.findLast((s) => s.method === 'DELETE');
    assert.equal(del?.headers['mcp-session-id'], sessionId);
  });

  test('the upstreams saw identity headers on every request and never the caller credentials', () => {
    const all = [...sse.seen, ...json.seen.filter((s) => s.path !== '/direct')];
    assert.ok(all.length >= 8);
    const hopTxn = claimsOf(hop).txn;
    for (const s of all) {
      const at = `${s.method} ${s.path}`;
      // A tool (non-agent audience) never delegates, so it gets no warrant either.
      for (const name of ['authorization', 'dpop', 'warrant-chain', 'warrant-token'])
        assert.ok(!s.headerNames.includes(name), `${name} leaked to the upstream on ${at}`);
      assert.equal(s.headers['warrant-person'], 'alice', at);
      assert.equal(s.headers['warrant-actor'], EXECUTOR, at);
      assert.equal(s.headers['warrant-txn'], hopTxn, at);
      assert.ok(s.headers['warrant-decision'], at);
    }
    // The chain digest is the full chain's when the caller presented it, the leaf hash otherwise.
    assert.ok(
      json.seen.every((s) => s.path === '/direct' || s.headers['warrant-chain-digest'] === tokenHash(hop)),
    );
    assert.ok(sse.seen.every((s) => s.headers['warrant-chain-digest'] !== tokenHash(hop)));
  });
});
