/**
 * Pinned tools in the answers (docs/guard.md): what a server shows of its tools passes through the
 * gateway and is compared with the pins every time — an MCP `tools/list` answer (JSON or SSE, single or
 * batch) and an A2A agent card (`/.well-known/agent-card.json`, `/.well-known/agent.json`). Tools (skills)
 * whose definitions are not approved are hidden. A server's `notifications/tools/list_changed` (in an SSE
 * answer or the GET stream) marks the route's pins for a re-check.
 *
 * When the pins cannot be read or written, nothing is shown (fail closed): the tools are hidden, and their
 * calls are refused by the check-pins step.
 */
import {
  a2aSkillDefinition,
  definitionDigest,
  mcpToolDefinition,
  type ToolDefinition,
} from '../../guard/pins/digest.ts';
import type { SeenDefinition } from '../../guard/pins/observe-definitions.ts';
import { routeKey } from '../../guard/pins/route-key.ts';
import { type GatewayCall, need } from '../context.ts';
import { listsTools, mapMessages } from './filter-tools-list.ts';

const CARD_PATH = /\/\.well-known\/(agent-card|agent)\.json$/;
const LIST_CHANGED = 'notifications/tools/list_changed';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The route's pinning mode (`off` without a route or option). */
function modeOf(call: GatewayCall) {
  return call.route?.tools?.pinning ?? 'off';
}

/** Whether the answer is an A2A agent card on a route that pins its skills (then it is read whole). */
export function readsAgentCard(call: GatewayCall): boolean {
  return (
    modeOf(call) !== 'off' &&
    call.route?.protocol === 'a2a' &&
    call.req.method === 'GET' &&
    CARD_PATH.test(need(call.url, 'url').pathname)
  );
}

/** Whether a tools/list answer of this call is compared with the pins. */
export function pinsToolsList(call: GatewayCall): boolean {
  return modeOf(call) !== 'off' && listsTools(call);
}

/** One definition as seen, or undefined when it cannot be digested (it is then hidden). */
function seenOf(tool: string, definition: ToolDefinition): SeenDefinition | undefined {
  try {
    return { tool, definition, digest: definitionDigest(definition) };
  } catch {
    return undefined;
  }
}

/** Compares what the server showed with the pins; the names that may be shown (none if the store fails). */
async function observe(call: GatewayCall, seen: readonly SeenDefinition[]): Promise<Set<string>> {
  const pins = call.gw.guard?.pins;
  if (pins === undefined) return new Set();
  try {
    return await pins.observe({
      route: routeKey(need(call.route, 'route')),
      mode: modeOf(call),
      seen,
      actor: `gateway:${call.gw.id}`,
      now: call.gw.now(),
    });
  } catch {
    return new Set();
  }
}

/** The tools/list answer's tools compared with the pins: the names that may be listed. */
export async function pinnedTools(
  call: GatewayCall,
  text: string,
  contentType: string,
): Promise<Set<string>> {
  const seen: SeenDefinition[] = [];
  mapMessages(text, contentType, (json) => {
    try {
      const parsed = JSON.parse(json) as unknown;
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
        const tools = (message as { result?: { tools?: unknown } })?.result?.tools;
        if (!Array.isArray(tools)) continue;
        for (const tool of tools) {
          if (!isObject(tool) || typeof tool['name'] !== 'string') continue;
          const s = seenOf(tool['name'], mcpToolDefinition(tool));
          if (s) seen.push(s);
        }
      }
    } catch {
      // Unreadable: the tools-list filter replaces it; nothing to compare.
    }
    return json;
  });
  if (text.includes(LIST_CHANGED)) announce(call);
  return observe(call, seen);
}

/**
 * The agent card with its skills compared with the pins and the unapproved ones removed. A card that is
 * not a JSON object is passed as it is (a client cannot use it either). A signed card (`signatures`) is
 * passed unchanged (a non-empty `signatures`), since removing a skill would break its signature: its unapproved skills are still
 * refused when called.
 */
export async function pinAgentCard(call: GatewayCall, text: string): Promise<string> {
  let card: unknown;
  try {
    card = JSON.parse(text);
  } catch {
    return text;
  }
  if (!isObject(card) || !Array.isArray(card['skills'])) return text;
  const seen: SeenDefinition[] = [];
  for (const skill of card['skills']) {
    if (!isObject(skill) || typeof skill['id'] !== 'string') continue;
    const s = seenOf(skill['id'], a2aSkillDefinition(skill));
    if (s) seen.push(s);
  }
  const visible = await observe(call, seen);
  if (Array.isArray(card['signatures']) && card['signatures'].length > 0) return text;
  card['skills'] = card['skills'].filter(
    (skill) => isObject(skill) && typeof skill['id'] === 'string' && visible.has(skill['id']),
  );
  return JSON.stringify(card);
}

/** Marks the route's pins for a re-check (the server announced a change); a failure only loses the mark. */
function announce(call: GatewayCall): void {
  const pins = call.gw.guard?.pins;
  if (pins === undefined) return;
  pins
    .announce({
      route: routeKey(need(call.route, 'route')),
      actor: `gateway:${call.gw.id}`,
      now: call.gw.now(),
    })
    .catch(() => {});
}

/**
 * A watcher for a streamed MCP answer on a pinning route: told each chunk, it marks the route for a
 * re-check once it sees `notifications/tools/list_changed` (also when split across two chunks).
 */
export function listChangedWatcher(call: GatewayCall): ((chunk: Buffer) => void) | undefined {
  if (modeOf(call) === 'off' || call.route?.protocol !== 'mcp') return undefined;
  let tail = '';
  return (chunk) => {
    const text = tail + chunk.toString('latin1');
    // Each announcement marks the route again (a no-op while a mark is pending: see markRecheck).
    if (text.includes(LIST_CHANGED)) {
      announce(call);
      tail = '';
      return;
    }
    tail = text.slice(-LIST_CHANGED.length);
  };
}
