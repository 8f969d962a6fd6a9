/**
 * A tiny OpenAI-compatible upstream for gateway tests: `POST /v1/chat/completions` answers a JSON
 * completion, or with `stream: true` server-sent chunks (`data: {...}\n\n` … `data: [DONE]\n\n`)
 * `CHUNK_GAP_MS` apart, noting when each was written. Plus a `fetch` for the `openai` client that
 * presents a DPoP-bound warrant instead of the client's API key.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AgentClient } from '../../src/sdk/agent-client.ts';

export const CHUNK_GAP_MS = 250;
export const STREAM_WORDS = ['Warrants ', 'are ', 'bound ', 'to ', 'keys.'];

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown> | undefined;
}

export interface OpenAiUpstream {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly requests: UpstreamRequest[];
  /** For each streamed completion id: `performance.now()` when each SSE event was written. */
  readonly written: Map<string, number[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createOpenAiUpstream(): OpenAiUpstream {
  const requests: UpstreamRequest[] = [];
  const written = new Map<string, number[]>();
  let n = 0;
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> | undefined;
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
    } catch {
      body = undefined;
    }
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body });
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || !body) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
      return;
    }
    const id = `chatcmpl-${++n}`;
    const model = String(body['model']);
    const created = Math.floor(Date.now() / 1000);
    const messages = (body['messages'] ?? []) as { content?: string }[];
    if (body['stream'] !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: `echo: ${messages.at(-1)?.content ?? ''}` },
              finish_reason: 'stop',
              logprobs: null,
            },
          ],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }),
      );
      return;
    }
    const times: number[] = [];
    written.set(id, times);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (data: string) => {
      times.push(performance.now());
      res.write(`data: ${data}\n\n`);
    };
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
    send(chunk({ role: 'assistant', content: '' }, null));
    for (const word of STREAM_WORDS) {
      await sleep(CHUNK_GAP_MS);
      send(chunk({ content: word }, null));
    }
    await sleep(CHUNK_GAP_MS);
    send(chunk({}, 'stop'));
    send('[DONE]');
    res.end();
  };
  return {
    handler: (req, res) => {
      handler(req, res).catch((e: unknown) => res.destroy(e as Error));
    },
    requests,
    written,
  };
}

/**
 * A `fetch` for the `openai` client: replaces the client's `Authorization: Bearer <api key>` with
 * `Authorization: DPoP <warrant>` and adds a fresh DPoP proof for the request's method and URL.
 * Every response is also kept in `responses`, so tests can read the gateway's refusal bodies.
 */
export function warrantFetch(
  client: AgentClient,
  warrant: () => string,
): { fetch: typeof fetch; responses: Response[] } {
  const responses: Response[] = [];
  return {
    responses,
    fetch: async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const token = warrant();
      headers.set('authorization', `DPoP ${token}`);
      headers.set('dpop', client.dpopProof(method, url.split('?')[0]!, token));
      const response = await fetch(input, { ...init, headers });
      responses.push(response.clone());
      return response;
    },
  };
}
