/**
 * How the demo's agents talk through the gateway: a `fetch` that presents a warrant chain with a fresh
 * DPoP proof per request (what `warrant/sdk` and `warrant agent proxy` do for real agents), remembering
 * the last answer so a refusal the protocol SDKs wrap can still be read and told.
 */
import type { AgentClient } from '../sdk/agent-client.ts';

/** The chain an agent presents: root first, the warrant it holds last. */
export type Chain = () => readonly string[];

/** A request exactly as it went on the wire (what an attacker who captured it could send again). */
export interface SentRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | undefined;
}

export interface PresentingFetch {
  readonly fetch: typeof fetch;
  /** The last JSON answer the gateway gave (a clone, unread); undefined when the last was no JSON. */
  last(): Response | undefined;
  /** The last request sent. */
  sent(): SentRequest | undefined;
}

export function presentingFetch(agent: AgentClient, chain: Chain): PresentingFetch {
  let last: Response | undefined;
  let sent: SentRequest | undefined;
  const wrapped: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const tokens = chain();
    const warrant = tokens.at(-1)!;
    headers.set('authorization', `DPoP ${warrant}`);
    headers.set('dpop', agent.dpopProof(method, url.split('?')[0]!, warrant));
    if (tokens.length > 1) headers.set('warrant-chain', tokens.join(', '));
    sent = { url, method, headers, body: typeof init?.body === 'string' ? init.body : undefined };
    const response = await fetch(input, { ...init, headers });
    // Only JSON answers are kept: a clone tees the body, and cancelling one branch of a tee (as the MCP
    // SDK does with a 202) waits for the other, and a stream would be buffered for ever.
    last = response.headers.get('content-type')?.includes('json') ? response.clone() : undefined;
    return response;
  };
  return { fetch: wrapped, last: () => last, sent: () => sent };
}

/** A refusal as the gateway or the STS answered it: its stable code, why, and an approval to wait for. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly description: string;
  readonly approvalId?: string;
}

/**
 * Reads a refusal from an answer: an OAuth-style error body (`{code, error_description, approval_id}`),
 * or the same inside a JSON-RPC error's `data` (how `mcp` and `a2a` routes may answer). Undefined when
 * the answer is no refusal.
 */
export async function refusalOf(response: Response | undefined): Promise<Refusal | undefined> {
  if (response === undefined) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    return undefined;
  }
  const found = findRefusal(body, 0);
  if (found === undefined) return undefined;
  return { status: response.status, ...found };
}

function findRefusal(value: unknown, depth: number): Omit<Refusal, 'status'> | undefined {
  if (depth > 6 || value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o['code'] === 'string' && o['code'].startsWith('WARRANT_')) {
    const description = o['error_description'] ?? o['message'] ?? '';
    return {
      code: o['code'],
      description: String(description),
      ...(typeof o['approval_id'] === 'string' ? { approvalId: o['approval_id'] } : {}),
    };
  }
  for (const member of Object.values(o)) {
    const found = findRefusal(member, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The claims of a compact JWS, unverified (the demo reads what it was just given). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}
