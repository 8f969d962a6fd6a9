/**
 * Helpers for the gateway rejection tests: upstreams that count what reaches them, raw requests (so a test
 * controls every header and proof), delegation shortcuts, and `expectRefusal`, which checks that a refusal
 * is a clean RFC 6750 / RFC 9449 answer with a stable code, leaks nothing, and forwarded nothing.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Grant } from '../../src/core/grants/index.ts';
import { decode } from '../../src/core/jose/base64url.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import type { GatewayHarness } from '../support/gateway-harness.ts';

export { TOKEN_TYPES };

export const TOOLS = 'https://tools.warrant.test';
/** Agent metadata letting a recipient delegate onward to agents and tools. */
export const WIDE = { allowedAudiences: [`${TOOLS}/*`, 'spiffe://warrant.test/*'] };

/** Anything that looks like a compact JWS (a token, a proof). */
const JWS_LIKE = /eyJ[A-Za-z0-9_-]+\./;
/** A stack frame of our own source, or any frame at all. */
const STACK_FRAME = /\bat .*(\.ts|\.js|node:)[^"]*:\d+/;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(decode(token.split('.')[1]!)).toString('utf8')) as Record<string, unknown>;
}

/** Upstream handlers that count every request reaching them (headers arrived), whatever happens next. */
export class Upstreams {
  readonly hits: Record<string, number> = {};
  /** Requests whose whole body reached the upstream. */
  readonly completed: Record<string, number> = {};

  handler(
    name: string,
    respond: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    },
  ): (req: IncomingMessage, res: ServerResponse) => void {
    this.hits[name] = 0;
    this.completed[name] = 0;
    return (req, res) => {
      this.hits[name]! += 1;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => {});
      res.on('error', () => {});
      req.on('end', () => {
        this.completed[name]! += 1;
        respond(req, res, Buffer.concat(chunks));
      });
    };
  }

  /** Total hits over every upstream. */
  get total(): number {
    return Object.values(this.hits).reduce((a, b) => a + b, 0);
  }
}

/** A root warrant: `person` → `actor`, addressed to `recipient`. */
export async function rootWarrant(
  h: GatewayHarness,
  actor: AgentClient,
  recipient: string,
  grants: Grant[],
  person = 'alice',
): Promise<string> {
  const r = await actor.exchange({
    subjectToken: h.sts.idToken(person, actor),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: recipient,
    grants,
  });
  return r.access_token;
}

/** A hop: `holder` exchanges the warrant addressed to it for one addressed to `recipient`. */
export async function hop(
  holder: AgentClient,
  warrant: string,
  recipient: string,
  grants?: Grant[],
): Promise<string> {
  const r = await holder.exchange({
    subjectToken: warrant,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: recipient,
    ...(grants ? { grants } : {}),
  });
  return r.access_token;
}

export interface Raw {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * A raw HTTP/1.1 request: headers given as [name, value] pairs, so a name can repeat (two `DPoP` header
 * lines, not one joined value).
 */
export function raw(
  url: string,
  options: { method?: string; headers?: [string, string][]; body?: string | Buffer } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', agent: false });
    const grouped = new Map<string, string[]>();
    for (const [name, value] of options.headers ?? [])
      grouped.set(name, [...(grouped.get(name) ?? []), value]);
    for (const [name, values] of grouped) req.setHeader(name, values.length === 1 ? values[0]! : values);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface Refusal {
  readonly status: number;
  readonly error: string;
  readonly code: string;
  /** Token texts that must not appear in the answer. */
  readonly secrets?: readonly string[];
  /** The request carried no credentials: the challenge has no error code (RFC 6750 §3.1). */
  readonly bareChallenge?: boolean;
}

/** Reads a fetch Response or a raw answer into one shape. */
export async function answerOf(r: Response | Raw): Promise<Raw> {
  if (!(r instanceof Response)) return r;
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    headers[k] = v;
  });
  return { status: r.status, headers, body: await r.text() };
}

/**
 * The refusal is `status` with a JSON `{error, error_description, code}` body; 401 (and 403
 * `insufficient_scope`) carry `WWW-Authenticate: DPoP error="…"` (a 401 after `Bearer resource_metadata="…"`),
 * other statuses none; the answer holds no
 * token, no JWS-looking text and no stack frame.
 */
export async function expectRefusal(r: Response | Raw, expected: Refusal): Promise<Record<string, unknown>> {
  const a = await answerOf(r);
  const parsed = JSON.parse(a.body) as Record<string, unknown>;
  // On mcp and a2a routes a policy refusal (403, 429) of one JSON-RPC request is a JSON-RPC error response,
  // sent as 200, carrying the same body in `error.data` (protocol-native refusals, DESIGN §7).
  const rpc = parsed['jsonrpc'] === '2.0' && a.status === 200;
  if (rpc) {
    assert.ok(expected.status === 403 || expected.status === 429, `a ${expected.status} is never JSON-RPC`);
    const error = parsed['error'] as { code: number; message: string; data: Record<string, unknown> };
    assert.equal(error.code, -32060, a.body);
    assert.ok(error.message.startsWith(`${expected.code}: `), error.message);
    assert.equal(a.headers['www-authenticate'], undefined, 'no challenge on a JSON-RPC refusal');
  } else assert.equal(a.status, expected.status, `status (body: ${a.body})`);
  assert.match(String(a.headers['content-type']), /^application\/json/);
  const body = rpc ? (parsed['error'] as { data: Record<string, unknown> }).data : parsed;
  assert.equal(body['error'], expected.error, a.body);
  assert.equal(body['code'], expected.code, a.body);
  assert.equal(typeof body['error_description'], 'string');
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'error_description']);
  const challenge = a.headers['www-authenticate'];
  if (!rpc && (expected.status === 401 || expected.error === 'insufficient_scope')) {
    assert.equal(typeof challenge, 'string', 'WWW-Authenticate is present');
    // On a 401, a Bearer challenge naming the metadata comes first (the MCP SDK reads only that), then DPoP's.
    if (expected.status === 401) assert.match(String(challenge), /^Bearer resource_metadata="[^"]+", DPoP /);
    else assert.match(String(challenge), /^DPoP /);
    if (expected.bareChallenge) {
      // RFC 6750 §3.1: no credentials at all → a challenge without an error code.
      assert.ok(!String(challenge).includes('error='), String(challenge));
    } else {
      assert.ok(String(challenge).includes(`error="${expected.error}"`), String(challenge));
    }
    assert.match(String(challenge), /algs="EdDSA ES256"/);
    // RFC 9728: the challenge points at the protected-resource metadata of the route.
    assert.match(
      String(challenge),
      /resource_metadata="http:\/\/[^"]+\/\.well-known\/oauth-protected-resource\/[^"]*"/,
    );
  } else {
    assert.equal(challenge, undefined, 'no WWW-Authenticate challenge');
  }
  const text = `${a.body}\n${String(challenge ?? '')}`;
  assert.doesNotMatch(text, JWS_LIKE, 'no token text');
  assert.doesNotMatch(text, STACK_FRAME, 'no stack');
  for (const secret of expected.secrets ?? []) {
    for (const part of secret.split('.')) assert.ok(!text.includes(part), 'no token segment in the answer');
  }
  return body;
}

/** The decision records written since `from` (decisions only, not outcomes). */
export function decisionsSince(h: GatewayHarness, from: number): DecisionRecord[] {
  return h.decisions.records.slice(from).filter((r) => r.kind === 'decision');
}

/** Exactly one deny decision was recorded since `from`, with this code; returns it. */
export function expectDenyRecord(h: GatewayHarness, from: number, code: string): DecisionRecord {
  const records = decisionsSince(h, from);
  assert.equal(records.length, 1, 'one decision recorded');
  const record = records[0]!;
  assert.equal(record.decision, 'deny');
  assert.equal(record.code, code);
  assert.doesNotMatch(JSON.stringify(record), JWS_LIKE, 'no token literal in the record');
  return record;
}

/** Nothing was recorded since `from`: authentication refusals never reach the decision step. */
export function expectNoRecord(h: GatewayHarness, from: number): void {
  assert.deepEqual(decisionsSince(h, from), []);
}

/** A JSON-RPC `tools/call` request. */
export const toolCall = (id: number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/**
 * A protocol-native refusal (mcp and a2a routes): a JSON-RPC error response sent as 200, code -32060, the
 * Warrant refusal body in `error.data`. Returns that body.
 */
export async function rpcRefusal(
  r: Response,
): Promise<{ error: string; code: string; error_description: string; approval_id?: string }> {
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const answer = JSON.parse(text) as { jsonrpc: string; error?: { code: number; data: never } };
  assert.equal(answer.jsonrpc, '2.0', text);
  assert.equal(answer.error?.code, -32060, text);
  return answer.error.data;
}
