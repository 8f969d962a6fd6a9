/**
 * Long streams through the gateway: an event stream (`text/event-stream`) may stay silent longer than
 * `gateway.limits.upstreamTimeoutMs` — server notifications, sampling and elicitation requests, slow tools —
 * and lives as long as both ends keep it, up to `gateway.limits.streamIdleMs`, when the gateway ends it
 * cleanly (the caller sees the stream end, not a broken connection). Any other answer that stalls past the
 * upstream timeout is still cut. Checked with a raw SSE upstream and with the official MCP SDK, client and
 * server, receiving a server notification after the silence.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { requestsInFlight } from '../../src/core/load.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { hop, rootWarrant, sleep, TOOLS, WIDE } from './rejections-support.ts';

const UPSTREAM_TIMEOUT_MS = 200;
const STREAM_IDLE_MS = 2500;
/** A silence far past the upstream timeout (undici's body timer is coarse: about a second), short of the idle limit. */
const SILENCE_MS = 1500;
const EVENTS = `${TOOLS}/events`;
const STALL = `${TOOLS}/stall`;
const MCP = `${TOOLS}/mcp`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** An SSE upstream: one event, a long silence, a second event, then silence. */
function eventsUpstream(state: { closed: number }) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: one\n\n');
    const timer = setTimeout(() => res.write('data: two\n\n'), SILENCE_MS);
    res.once('close', () => {
      clearTimeout(timer);
      state.closed++;
    });
  };
}

/** A plain (non-stream) answer that starts, then stalls for ever. */
function stallingUpstream(_req: IncomingMessage, res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"partial":');
}

/** A stateful MCP server (official SDK); `servers` holds each session's server so a test can notify. */
function mcpServer(servers: McpServer[], streams: { opened: number }) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') streams.opened++;
    void (async () => {
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!transport) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessions.set(id, created);
          },
        });
        const server = new McpServer({ name: 'notifier', version: '1.0.0' }, { capabilities: { tools: {} } });
        server.registerTool('ping_tool', { description: 'answers pong' }, async () => ({
          content: [{ type: 'text', text: 'pong' }],
        }));
        servers.push(server);
        await server.connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  };
}

describe('long streams through the gateway', () => {
  let h: GatewayHarness;
  let executor: AgentClient;
  const leaf: Record<string, string> = {};
  const events = { closed: 0 };
  const servers: McpServer[] = [];
  const streams = { opened: 0 };

  before(async () => {
    h = await startGatewayHarness({
      upstreams: {
        events: eventsUpstream(events),
        stall: stallingUpstream,
        mcp: mcpServer(servers, streams),
      },
      routes: (u) => [
        { match: { pathPrefix: '/events' }, upstream: u['events']!, audience: EVENTS, protocol: 'http' },
        { match: { pathPrefix: '/stall' }, upstream: u['stall']!, audience: STALL, protocol: 'http' },
        { match: { pathPrefix: '/mcp' }, upstream: `${u['mcp']}/mcp`, audience: MCP, protocol: 'mcp' },
      ],
      catalog: [
        { name: 'tools:events', match: { protocol: 'http', method: 'GET', path: '/events*' }, ...low },
        { name: 'tools:stall', match: { protocol: 'http', method: 'GET', path: '/stall*' }, ...low },
        { name: 'tools:ping', match: { protocol: 'mcp', tool: 'ping_tool' }, ...low },
      ],
      overrides: {
        gateway: { limits: { upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, streamIdleMs: STREAM_IDLE_MS } },
      } as never,
    });
    const planner = await h.sts.agent('planner');
    executor = await h.sts.agent('executor', WIDE);
    const root = await rootWarrant(h, planner, agentIdOf('executor'), [
      { action: 'tools:*', resource: `${TOOLS}/*` },
    ]);
    for (const audience of [EVENTS, STALL, MCP]) leaf[audience] = await hop(executor, root, audience);
  });

  after(async () => {
    for (const s of servers) await s.close().catch(() => {});
    await h?.close();
  });

  test('an event stream silent past upstreamTimeoutMs lives on, then ends cleanly at streamIdleMs', async () => {
    const started = Date.now();
    const base = requestsInFlight.count;
    const r = await h.call(executor, leaf[EVENTS]!, '/events/feed');
    assert.equal(r.status, 200);
    assert.match(String(r.headers.get('content-type')), /^text\/event-stream/);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    // Read to the end: a cut connection would reject here (fetch: "terminated").
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // While the stream waits for its next event it is not a request in flight (src/core/load.ts).
      if (text === '') assert.equal(requestsInFlight.count, base, 'an open event stream does not count');
      text += value;
    }
    const elapsed = Date.now() - started;
    assert.equal(text, 'data: one\n\ndata: two\n\n', 'both events, the second after the silence');
    assert.ok(elapsed >= SILENCE_MS + STREAM_IDLE_MS - 50, `ended by the idle limit (${elapsed} ms)`);
    await until(() => events.closed === 1, 'the upstream stream to be released');
    const outcome = h.decisions.records.findLast((record) => record.kind === 'outcome');
    assert.equal(outcome?.outcome, 'forwarded');
    assert.equal(outcome?.status, 200);
  });

  test('a plain answer that stalls past upstreamTimeoutMs is still cut', async () => {
    const r = await h.call(executor, leaf[STALL]!, '/stall/report');
    assert.equal(r.status, 200);
    await assert.rejects(r.text(), 'the stalled answer breaks off');
    await until(
      () =>
        h.decisions.records.findLast((record) => record.kind === 'outcome')?.outcome ===
        'upstream_interrupted',
      'the outcome record',
    );
  });

  test('the MCP SDK client receives a server notification after a silence longer than upstreamTimeoutMs', async () => {
    const warrant = leaf[MCP]!;
    const fetchWithDpop: FetchLike = (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `DPoP ${warrant}`);
      headers.set('dpop', executor.dpopProof(init?.method ?? 'GET', String(url).split('?')[0]!, warrant));
      return fetch(url, { ...init, headers });
    };
    const client = new Client({ name: 'listener', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp`), { fetch: fetchWithDpop });
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    const errors: unknown[] = [];
    transport.onerror = (error) => errors.push(error);
    try {
      await client.connect(transport);
      const server = servers.at(-1)!;
      // The server-to-client stream (GET) is open once the client sent `notifications/initialized`.
      await until(() => streams.opened === 1, 'the server-to-client stream');
      // One notification, then a silence (undici's old body timeout ran from the last chunk), then another.
      server.sendToolListChanged();
      await until(() => changed === 1, 'the first notification');
      await sleep(SILENCE_MS);
      server.sendToolListChanged();
      await until(() => changed === 2, 'the notification after the silence');
      assert.deepEqual(errors, [], 'no transport error');
      assert.equal(streams.opened, 1, 'one server-to-client stream, never cut and reopened');
      const result = await client.callTool({ name: 'ping_tool', arguments: {} });
      assert.deepEqual(result.content, [{ type: 'text', text: 'pong' }]);
    } finally {
      await client.close();
    }
  });
});
