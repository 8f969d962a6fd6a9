/**
 * `warrant agent proxy` (src/sdk/proxy/): a stock MCP SDK client with no auth provider, through the local
 * proxy, through a running gateway, to a real MCP server. The proxy attaches a pooled warrant (audience
 * from the gateway's RFC 9728 metadata) and a fresh DPoP proof to every request; refusals and event
 * streams come back untouched; it will not listen on a non-loopback address unless told to.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { runCli } from '../../src/cli/run-cli.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { AgentProxyError, type RunningAgentProxy, startAgentProxy } from '../../src/sdk/proxy/agent-proxy.ts';
import { TokenPool } from '../../src/sdk/token-pool.ts';
import { rootWarrant, TOOLS, WIDE } from '../gateway/rejections-support.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { type McpUpstream, mcpUpstream } from '../support/mcp-upstream.ts';
import { agentIdOf } from '../support/sts-harness.ts';

const MCP = `${TOOLS}/crm-mcp`;
const EVENTS = `${TOOLS}/events`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

/** An SSE upstream publishing three events 150 ms apart; `sent` holds when each was written. */
function eventsUpstream(sent: number[]) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const next = () => {
      n++;
      sent.push(performance.now());
      res.write(`data: ${n}\n\n`);
      if (n === 3) res.end();
      else timer = setTimeout(next, 150);
    };
    let timer = setTimeout(next, 0);
    res.once('close', () => clearTimeout(timer));
  };
}

describe('warrant agent proxy: stock clients through the gateway', () => {
  let h: GatewayHarness;
  let upstream: McpUpstream;
  let executor: AgentClient;
  let pool: TokenPool;
  let proxy: RunningAgentProxy;
  const sent: number[] = [];

  before(async () => {
    upstream = mcpUpstream({ stateful: true });
    h = await startGatewayHarness({
      upstreams: { mcp: upstream.handler, events: eventsUpstream(sent) },
      routes: (u) => [
        { match: { pathPrefix: '/mcp' }, upstream: `${u['mcp']}/mcp`, audience: MCP, protocol: 'mcp' },
        { match: { pathPrefix: '/events' }, upstream: u['events']!, audience: EVENTS, protocol: 'http' },
      ],
      catalog: [
        { name: 'crm:contacts.get', match: { protocol: 'mcp', tool: 'get_contact' }, ...low },
        {
          name: 'crm:contacts.delete',
          match: { protocol: 'mcp', tool: 'delete_contact' },
          impact: 'critical',
          dataClass: 'internal',
          reversibility: 'irreversible',
          blastRadius: 1,
        },
        { name: 'tools:events', match: { protocol: 'http', method: 'GET', path: '/events*' }, ...low },
      ],
    });
    const planner = await h.sts.agent('planner');
    executor = await h.sts.agent('executor', WIDE);
    const root = await rootWarrant(h, planner, agentIdOf('executor'), [
      { action: 'crm:*', resource: `${TOOLS}/*` },
      { action: 'tools:*', resource: `${TOOLS}/*` },
    ]);
    pool = new TokenPool({ client: executor, subject: { token: root }, backgroundRefresh: false });
    proxy = await startAgentProxy({ gateway: h.gw.url, pool });
  });

  after(async () => {
    await proxy?.close();
    pool?.close();
    await upstream?.close();
    await h?.close();
  });

  test('listens on 127.0.0.1 by default', () => {
    assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a stock MCP SDK client (no auth provider) lists and calls tools through proxy and gateway', async () => {
    const client = new Client({ name: 'stock', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['delete_contact', 'get_contact']);
      const result = await client.callTool({ name: 'get_contact', arguments: { id: '7' } });
      const text = (result.content as { text: string }[])[0]!.text;
      assert.equal(JSON.parse(text).servedTo, 'alice', 'the server saw the person the warrant names');
      const call = upstream.toolCalls.at(-1)!;
      assert.equal(call.actor, agentIdOf('executor'));
      // The upstream never sees a credential; the gateway saw the agent's warrant for the route's audience.
      for (const seen of upstream.seen) assert.ok(!seen.headerNames.includes('authorization'));
      const decision = h.decisions.records.findLast((r) => r.kind === 'decision');
      assert.equal(decision?.recipient, MCP);
      assert.equal(decision?.action, 'crm:contacts.get');
    } finally {
      await client.close();
    }
  });

  test('refusals come back intact: a JSON-RPC error of the call, the session goes on', async () => {
    const client = new Client({ name: 'stock', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
    try {
      const error = await client.callTool({ name: 'delete_contact', arguments: { id: '7' } }).then(
        () => assert.fail('delete_contact needs an approval'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof McpError, String(error));
      assert.equal(error.code, -32060);
      assert.equal((error.data as { code: string }).code, 'WARRANT_APPROVAL_REQUIRED');
      assert.ok(!upstream.toolCalls.some((c) => c.tool === 'delete_contact'), 'nothing reached the server');
      assert.ok((await client.callTool({ name: 'get_contact', arguments: { id: '1' } })).content);
    } finally {
      await client.close();
    }
  });

  test('a path with no gateway route: the gateway refusal as it is', async () => {
    const r = await fetch(`${proxy.url}/nowhere`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_ROUTE_UNKNOWN');
  });

  test('an event stream passes through as it comes, each event before the next is sent', async () => {
    const r = await fetch(`${proxy.url}/events/feed`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers.get('content-type')), /^text\/event-stream/);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    const received: { text: string; at: number }[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received.push({ text: value, at: performance.now() });
    }
    assert.equal(received.map((c) => c.text).join(''), 'data: 1\n\ndata: 2\n\ndata: 3\n\n');
    assert.ok(received[0]!.at < sent[1]!, 'the first event arrived before the second was sent');
  });

  test('a request naming a non-loopback Host (DNS rebinding) is refused before anything is sent', async () => {
    const from = h.decisions.records.length;
    const seen = upstream.seen.length;
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${proxy.url}/mcp`, { method: 'POST', headers: { host: 'evil.example:80' } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    });
    assert.equal(r.status, 403);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'WARRANT_HOST_NOT_ALLOWED');
    assert.equal(h.decisions.records.length, from, 'nothing reached the gateway');
    assert.equal(upstream.seen.length, seen);
  });

  test('refuses to listen on a non-loopback address without allowRemote', async () => {
    await assert.rejects(
      startAgentProxy({ gateway: h.gw.url, pool, host: '0.0.0.0' }),
      (e: unknown) => e instanceof AgentProxyError && /--allow-remote/.test(e.message),
    );
    const remote = await startAgentProxy({ gateway: h.gw.url, pool, host: '0.0.0.0', allowRemote: true });
    assert.match(remote.url, /^http:\/\/0\.0\.0\.0:\d+$/);
    await remote.close();
    // The command refuses the same (exit 2), before it reads a key or talks to the STS.
    let err = '';
    const code = await runCli(
      [
        'agent',
        'proxy',
        '--gateway',
        h.gw.url,
        '--issuer',
        h.sts.url,
        '--agent-id',
        agentIdOf('executor'),
      ].concat(['--host', '192.0.2.1', '--subject', '/dev/null']),
      {
        stdin: Readable.from([]),
        out: () => {},
        err: (text) => {
          err += text;
        },
        env: {},
      },
    );
    assert.equal(code, 2);
    assert.match(err, /refusing to listen on 192\.0\.2\.1.*--allow-remote/);
  });
});
