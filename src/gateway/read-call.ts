import { parseStrictJson } from '../core/jose/strict-json.ts';
import type { CallDescriptor, Protocol } from '../guard/catalog.ts';
import { GatewayError } from './gateway-error.ts';

/** A JSON-RPC request as far as the gateway reads it. */
interface RpcRequest {
  readonly method: string;
  readonly params?: Record<string, unknown>;
}

const bad = (message: string) =>
  new GatewayError(400, 'invalid_request', 'WARRANT_REQUEST_MALFORMED', message);

function rpcRequests(body: Buffer): RpcRequest[] {
  const parsed = parseStrictJson(body.toString('utf8'))?.value;
  if (parsed === undefined) throw bad('the body is not JSON, or repeats a member name');
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0 || items.length > 32) throw bad('a JSON-RPC batch must hold 1..32 requests');
  return items.map((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw bad('a JSON-RPC message must be an object');
    const r = item as Record<string, unknown>;
    if (r['jsonrpc'] !== '2.0') throw bad('jsonrpc must be "2.0"');
    if (r['method'] === undefined && (r['result'] !== undefined || r['error'] !== undefined)) {
      // A client's response to a server request (MCP elicitation, sampling): no action of its own.
      return { method: '$response' };
    }
    if (typeof r['method'] !== 'string' || r['method'].length === 0 || r['method'].length > 128)
      throw bad('method must be a string');
    const params = r['params'];
    if (params !== undefined && (typeof params !== 'object' || params === null))
      throw bad('params must be an object or array');
    return {
      method: r['method'],
      ...(params && !Array.isArray(params) ? { params: params as Record<string, unknown> } : {}),
    };
  });
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
      return rpcRequests(body ?? Buffer.alloc(0)).map((r) => {
        if (r.method !== 'tools/call') return { protocol, rpcMethod: r.method };
        const tool = str(r.params?.['name']);
        if (tool === undefined) throw bad('tools/call needs params.name');
        return { protocol, rpcMethod: r.method, tool };
      });
    }
    case 'a2a': {
      if (method !== 'POST') return [{ protocol, rpcMethod: `$http:${method}` }];
      return rpcRequests(body ?? Buffer.alloc(0)).map((r) => {
        const message = r.params?.['message'] as Record<string, unknown> | undefined;
        const metadata = (message?.['metadata'] ?? r.params?.['metadata']) as
          | Record<string, unknown>
          | undefined;
        const skill = str(metadata?.['skill']);
        return skill === undefined
          ? { protocol, rpcMethod: r.method }
          : { protocol, rpcMethod: r.method, skill };
      });
    }
    case 'openai': {
      if (method !== 'POST') return [{ protocol: 'openai', model: `$http:${method}:${path}` }];
      const parsed = parseStrictJson((body ?? Buffer.alloc(0)).toString('utf8'))?.value;
      if (parsed === undefined) throw bad('the body is not JSON, or repeats a member name');
      const model = str((parsed as Record<string, unknown> | null)?.['model']);
      if (model === undefined) throw bad('the request names no model');
      return [{ protocol, model }];
    }
  }
}

/** Protocol housekeeping that needs a valid warrant for the route but no catalog action. */
export function isSessionCall(call: CallDescriptor): boolean {
  if (call.protocol === 'mcp') {
    return (
      call.rpcMethod === 'initialize' ||
      call.rpcMethod === 'ping' ||
      call.rpcMethod === 'tools/list' ||
      call.rpcMethod === '$response' ||
      call.rpcMethod.startsWith('notifications/') ||
      call.rpcMethod === '$http:GET' ||
      call.rpcMethod === '$http:DELETE'
    );
  }
  if (call.protocol === 'a2a') return call.rpcMethod === '$response';
  return false;
}
