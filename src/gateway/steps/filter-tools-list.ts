/**
 * MCP `tools/list` answers are filtered (docs/gateway.md, protocol `mcp`): only the tools this caller's
 * warrant and the policy would allow it to call are listed — decided with the request's own catalog and
 * the trust level the guard read, as a call to each tool would be (without parameter values: each call is
 * checked with its values when it is made). JSON or SSE, single or batch; an answer that cannot be read
 * but mentions `tools` is replaced by a JSON-RPC error rather than passed on unfiltered.
 */
import type { CallDescriptor } from '../../guard/catalog.ts';
import { resourceOf } from '../../guard/check-call.ts';
import { authorizeCall } from '../authorize-call.ts';
import { type GatewayCall, need } from '../context.ts';

/** Whether the request holds a `tools/list` (alone or in a batch): its answer is then filtered. */
export function listsTools(call: GatewayCall): boolean {
  return (
    need(call.route, 'route').protocol === 'mcp' &&
    call.calls.some((c) => c.protocol === 'mcp' && c.rpcMethod === 'tools/list')
  );
}

/**
 * The answer `text` (of `contentType`) with the tools this caller may not call removed — and, on a route
 * that pins its tools, those not in `pinned` (the tools whose definitions are approved, src/guard/pins/).
 */
export function filterToolsList(
  call: GatewayCall,
  text: string,
  contentType: string,
  pinned?: ReadonlySet<string>,
): string {
  const claims = need(call.presented, 'presented').leaf.claims;
  const trustLevel = need(call.guard, 'guard').trustLevel;
  const { catalog, policy, gw } = call;
  const allowed = (tool: string): boolean => {
    if (pinned !== undefined && !pinned.has(tool)) return false;
    const listed: CallDescriptor = { protocol: 'mcp', rpcMethod: 'tools/call', tool };
    const action = catalog.resolve(listed);
    if (!action) return false;
    return (
      authorizeCall({
        claims,
        action,
        resource: resourceOf(action, listed, claims.aud),
        trustLevel,
        weights: gw.guardConfig.risk.weights,
        policy,
        cache: gw.decisionCache,
        calls: gw.callCache,
        // Listing, not calling: there are no values yet; each call is checked when it is made.
        parameters: null,
      }).decision === 'allow'
    );
  };
  const filterMessage = (json: string): string => {
    try {
      const parsed = JSON.parse(json) as unknown;
      // A batch is answered with an array of responses.
      const messages = (Array.isArray(parsed) ? parsed : [parsed]) as {
        result?: { tools?: { name: string }[] };
      }[];
      let changed = false;
      for (const message of messages) {
        if (!Array.isArray(message?.result?.tools)) continue;
        message.result.tools = message.result.tools.filter(
          (t) => typeof t?.name === 'string' && allowed(t.name),
        );
        changed = true;
      }
      return changed ? JSON.stringify(parsed) : json;
    } catch {
      // Fail closed: an answer that may list tools but cannot be read is not passed on as it is.
      return json.includes('"tools"')
        ? JSON.stringify({
            jsonrpc: '2.0',
            id: null,
            error: { code: -32603, message: 'tools/list answer could not be filtered' },
          })
        : json;
    }
  };
  return mapMessages(text, contentType, filterMessage);
}

/** `text` with each JSON-RPC message (the whole answer, or each SSE event's data) replaced by `map`'s. */
export function mapMessages(text: string, contentType: string, map: (json: string) => string): string {
  if (contentType.startsWith('text/event-stream')) {
    // One SSE event may spread its data over several `data:` lines (joined by newlines): filter the
    // whole event's data, never line by line, so a split message cannot slip through unfiltered.
    return text
      .split(/\n\n/)
      .map((event) => {
        const lines = event.split('\n');
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5));
        if (data.length === 0) return event;
        const rest = lines.filter((l) => !l.startsWith('data:'));
        return [...rest, `data: ${map(data.join('\n'))}`].join('\n');
      })
      .join('\n\n');
  }
  return map(text);
}
