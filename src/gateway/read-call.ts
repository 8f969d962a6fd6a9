import { duplicateMembers, parseStrictJson } from '../core/jose/strict-json.ts';
import type { CallArguments, CallDescriptor, Protocol } from '../guard/catalog.ts';
import { GatewayError } from './gateway-error.ts';

/** A JSON-RPC request as far as the gateway reads it. */
interface RpcRequest {
  readonly method: string;
  readonly params?: Record<string, unknown>;
  /** JSON pointers (relative to this request) of member names the body repeats. */
  readonly duplicates: readonly string[];
}

const bad = (message: string) => new GatewayError('WARRANT_REQUEST_MALFORMED', message);

/**
 * The JSON-RPC requests of a body. A member name repeated inside a call's arguments (see `argumentsRegion`)
 * leaves that call's arguments ambiguous — a recorded denial later; repeated anywhere else, the body itself
 * is ambiguous (which method, which tool?) and is refused here.
 */
function rpcRequests(body: Buffer, argumentsRegion: RegExp): RpcRequest[] {
  const text = body.toString('utf8');
  let parsed = parseStrictJson(text)?.value;
  let duplicates: string[] = [];
  if (parsed === undefined) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw bad('the body is not JSON');
    }
    duplicates = duplicateMembers(text);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0 || items.length > 32) throw bad('a JSON-RPC batch must hold 1..32 requests');
  return items.map((item, i) => {
    const prefix = Array.isArray(parsed) ? `/${i}` : '';
    const mine = duplicates.filter((d) => d.startsWith(`${prefix}/`)).map((d) => d.slice(prefix.length));
    if (mine.some((d) => !argumentsRegion.test(d))) throw bad('the body repeats a member name');
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw bad('a JSON-RPC message must be an object');
    const r = item as Record<string, unknown>;
    if (r['jsonrpc'] !== '2.0') throw bad('jsonrpc must be "2.0"');
    if (r['method'] === undefined && (r['result'] !== undefined || r['error'] !== undefined)) {
      // A client's response to a server request (MCP elicitation, sampling): no action of its own.
      if (mine.length > 0) throw bad('the body repeats a member name');
      return { method: '$response', duplicates: mine };
    }
    if (typeof r['method'] !== 'string' || r['method'].length === 0 || r['method'].length > 128)
      throw bad('method must be a string');
    const params = r['params'];
    if (params !== undefined && (typeof params !== 'object' || params === null))
      throw bad('params must be an object or array');
    return {
      method: r['method'],
      ...(params && !Array.isArray(params) ? { params: params as Record<string, unknown> } : {}),
      duplicates: mine,
    };
  });
}

/** Where a repeated member name only makes the call's arguments ambiguous (pointers relative to a request). */
const MCP_ARGUMENTS = /^\/params\/arguments\//;
const A2A_ARGUMENTS = /^\/params\/message\/parts\/(0|[1-9][0-9]*)\/data\//;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** MCP `tools/call` arguments: `params.arguments`. */
function mcpArguments(r: RpcRequest): CallArguments {
  if (r.duplicates.length > 0) return { invalid: 'the tool arguments repeat a member name', repeated: true };
  const args = r.params?.['arguments'];
  return args === undefined ? { missing: 'the call has no arguments' } : { value: args };
}

/**
 * A2A arguments: the `data` of the message's one data part — `{data: …}` in A2A 1.0, `{kind: "data",
 * data: …}` in 0.3. No data part: missing; more than one: ambiguous (which one would the agent read?).
 */
function a2aArguments(r: RpcRequest, message: Record<string, unknown> | undefined): CallArguments {
  if (r.duplicates.length > 0) return { invalid: 'the message data repeats a member name', repeated: true };
  const parts = message?.['parts'];
  const data = Array.isArray(parts) ? parts.filter((p) => isObject(p) && Object.hasOwn(p, 'data')) : [];
  if (data.length === 0) return { missing: 'the message has no data part' };
  if (data.length > 1) return { invalid: 'the message has more than one data part' };
  return { value: (data[0] as Record<string, unknown>)['data'] };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}

/**
 * What the call is, per protocol: HTTP method + path; MCP JSON-RPC method and `tools/call` tool name;
 * A2A JSON-RPC method and skill; OpenAI model. A JSON-RPC batch yields one descriptor per request, and
 * every one of them must be allowed.
 */
export function readCall(
  protocol: Protocol,
  method: string,
  path: string,
  body: Buffer | undefined,
): CallDescriptor[] {
  switch (protocol) {
    case 'http':
      return [{ protocol, method, path }];
    case 'mcp': {
      if (method !== 'POST') return [{ protocol, rpcMethod: `$http:${method}` }];
      return rpcRequests(body ?? Buffer.alloc(0), MCP_ARGUMENTS).map((r) => {
        if (r.method !== 'tools/call') {
          if (r.duplicates.length > 0) throw bad('the body repeats a member name');
          return { protocol, rpcMethod: r.method };
        }
        const tool = str(r.params?.['name']);
        if (tool === undefined) throw bad('tools/call needs params.name');
        return { protocol, rpcMethod: r.method, tool, arguments: mcpArguments(r) };
      });
    }
    case 'a2a': {
      if (method !== 'POST') return [{ protocol, rpcMethod: `$http:${method}` }];
      return rpcRequests(body ?? Buffer.alloc(0), A2A_ARGUMENTS).map((r) => {
        const message = isObject(r.params?.['message'])
          ? (r.params['message'] as Record<string, unknown>)
          : undefined;
        const metadata = (message?.['metadata'] ?? r.params?.['metadata']) as
          | Record<string, unknown>
          | undefined;
        const skill = str(metadata?.['skill']);
        const args = a2aArguments(r, message);
        return skill === undefined
          ? { protocol, rpcMethod: r.method, arguments: args }
          : { protocol, rpcMethod: r.method, skill, arguments: args };
      });
    }
    case 'openai': {
      if (method !== 'POST') return [{ protocol: 'openai', model: `$http:${method}:${path}` }];
      const parsed = parseStrictJson((body ?? Buffer.alloc(0)).toString('utf8'))?.value;
      if (parsed === undefined) throw bad('the body is not JSON, or repeats a member name');
      const model = str((parsed as Record<string, unknown> | null)?.['model']);
      if (model === undefined) throw bad('the request names no model');
      return [{ protocol, model, body: parsed }];
    }
  }
}
