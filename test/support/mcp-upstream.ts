/**
 * An MCP server (the official TypeScript SDK, streamable HTTP transport) to stand behind the gateway in
 * tests. It records every request it receives — method, path, the headers that matter for identity and
 * credentials, and the parsed JSON-RPC body — so tests can assert what the gateway forwarded and what it
 * did not.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as z from 'zod';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Names of every header received, lower case. */
  readonly headerNames: readonly string[];
  /** The parsed JSON-RPC body of a POST, or the raw text if it was not JSON. */
  readonly body?: unknown;
}

export interface SeenToolCall {
  readonly tool: string;
  readonly person: string | undefined;
  readonly actor: string | undefined;
  readonly txn: string | undefined;
  /** The `warrant-grant` header: the grant the gateway allowed the call under. */
  readonly grant: string | undefined;
  /** The tool's arguments as the server received them. */
  readonly args?: unknown;
}

export interface McpUpstream {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly seen: SeenRequest[];
  readonly toolCalls: SeenToolCall[];
  /** Sessions opened (stateful mode). */
  readonly sessions: Map<string, StreamableHTTPServerTransport>;
  /** Server-to-client SSE streams (GET) currently open. */
  readonly streams: { readonly open: number };
  close(): Promise<void>;
}

const RECORDED = [
  'warrant-person',
  'warrant-person-issuer',
  'warrant-actor',
  'warrant-txn',
  'warrant-chain-digest',
  'warrant-decision',
  'warrant-token',
  'warrant-grant',
  'mcp-session-id',
  'content-type',
];

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : undefined;
}

/**
 * One MCP server: `get_contact` (low impact in the test catalog), `delete_contact` (critical), `export_all`
 * (not catalogued), and with `refund` a `refund` tool taking `{amount, currency}`.
 */
function buildServer(toolCalls: SeenToolCall[], refund = false): McpServer {
  const server = new McpServer({ name: 'crm-mcp', version: '1.0.0' });
  const note = (
    tool: string,
    extra: { requestInfo?: { headers?: Record<string, unknown> } },
    args?: unknown,
  ) => {
    const h = extra.requestInfo?.headers;
    const seen = {
      tool,
      person: header(h, 'warrant-person'),
      actor: header(h, 'warrant-actor'),
      txn: header(h, 'warrant-txn'),
      grant: header(h, 'warrant-grant'),
      ...(args === undefined ? {} : { args }),
    };
    toolCalls.push(seen);
    return seen;
  };
  server.registerTool(
    'get_contact',
    { description: 'Read one contact', inputSchema: { id: z.string() } },
    async ({ id }, extra) => {
      const seen = note('get_contact', extra);
      return {
        content: [
          { type: 'text', text: JSON.stringify({ id, name: 'Ada Lovelace', servedTo: seen.person }) },
        ],
      };
    },
  );
  server.registerTool(
    'delete_contact',
    { description: 'Delete one contact', inputSchema: { id: z.string() } },
    async ({ id }, extra) => {
      note('delete_contact', extra);
      return { content: [{ type: 'text', text: `deleted ${id}` }] };
    },
  );
  server.registerTool('export_all', { description: 'Export every contact' }, async (extra) => {
    note('export_all', extra);
    return { content: [{ type: 'text', text: 'everything' }] };
  });
  if (refund) {
    server.registerTool(
      'refund',
      { description: 'Refund a payment', inputSchema: { amount: z.number(), currency: z.string() } },
      async (args, extra) => {
        note('refund', extra, args);
        return { content: [{ type: 'text', text: `refunded ${args.amount} ${args.currency}` }] };
      },
    );
  }
  return server;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `stateful`: one transport per session (`mcp-session-id`), answers as SSE streams, GET opens the
 * server-to-client stream, DELETE ends the session. Otherwise stateless with plain JSON responses.
 */
export function mcpUpstream(options: { stateful: boolean; refund?: boolean }): McpUpstream {
  const seen: SeenRequest[] = [];
  const toolCalls: SeenToolCall[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const servers: McpServer[] = [];
  const streams = { open: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = req.method === 'POST' ? await readBody(req) : undefined;
    let body: unknown = text;
    let parsed = true;
    if (text !== undefined) {
      try {
        body = JSON.parse(text);
      } catch {
        parsed = false; // recorded as text
      }
    }
    const headers: Record<string, string | undefined> = {};
    for (const name of RECORDED) headers[name] = header(req.headers, name);
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers,
      headerNames: Object.keys(req.headers),
      ...(body === undefined ? {} : { body }),
    });

    if (req.method === 'GET') {
      streams.open++;
      res.once('close', () => {
        streams.open--;
      });
    }
    if (!parsed) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
      return;
    }
    if (!options.stateful) {
      const server = buildServer(toolCalls, options.refund);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const sid = header(req.headers, 'mcp-session-id');
    let transport = sid === undefined ? undefined : sessions.get(sid);
    if (!transport) {
      if (sid !== undefined || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
        );
        return;
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, created);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      });
      const server = buildServer(toolCalls, options.refund);
      servers.push(server);
      await server.connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res, body);
  };

  return {
    handler: (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    },
    seen,
    toolCalls,
    sessions,
    streams,
    async close() {
      for (const t of sessions.values()) await t.close();
      for (const s of servers) await s.close();
    },
  };
}
