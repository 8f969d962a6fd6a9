/**
 * The `openai` npm client against an OpenAI-compatible upstream, with the gateway between them
 * (DESIGN §7): the model named in the request body is the catalog action's match and, by default, the
 * resource `model:<name>` a grant must cover. The client's own API key never leaves the client side of
 * the gateway; its `fetch` presents a DPoP-bound warrant instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { Grant } from '../../src/core/grants/index.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import {
  CHUNK_GAP_MS,
  createOpenAiUpstream,
  type OpenAiUpstream,
  STREAM_WORDS,
  warrantFetch,
} from '../support/openai-upstream.ts';
import { agentIdOf } from '../support/sts-harness.ts';

const LLM = 'https://llm.warrant.test';

describe('openai client through the gateway', () => {
  let h: GatewayHarness;
  let upstream: OpenAiUpstream;
  let planner: AgentClient;
  let assistant: AgentClient;

  before(async () => {
    upstream = createOpenAiUpstream();
    h = await startGatewayHarness({
      upstreams: { llm: upstream.handler },
      routes: (u) => [
        { match: { pathPrefix: '/v1' }, upstream: `${u['llm']!}/v1`, audience: LLM, protocol: 'openai' },
      ],
      catalog: [
        {
          name: 'llm:chat',
          match: { protocol: 'openai', model: 'gpt-4o*' },
          impact: 'low',
          dataClass: 'internal',
          reversibility: 'reversible',
          blastRadius: 1,
        },
      ],
    });
    planner = await h.sts.agent('planner');
    assistant = await h.sts.agent('assistant', { allowedAudiences: [LLM] });
  });

  after(async () => {
    await h?.close();
  });

  /** alice, through the planner, delegates `grants` to the assistant; it takes a warrant for the LLM. */
  async function warrantFor(grants: Grant[]): Promise<string> {
    const root = await planner.exchange({
      subjectToken: h.sts.idToken('alice', planner),
      subjectTokenType: TOKEN_TYPES.idToken,
      audience: agentIdOf('assistant'),
      grants,
    });
    const hop = await assistant.exchange({
      subjectToken: root.access_token,
      subjectTokenType: TOKEN_TYPES.warrant,
      audience: LLM,
    });
    return hop.access_token;
  }

  function openai(warrant: string) {
    const wf = warrantFetch(assistant, () => warrant);
    const client = new OpenAI({
      apiKey: 'unused',
      baseURL: `${h.gw.url}/v1`,
      fetch: wf.fetch,
      maxRetries: 0,
    });
    return { client, responses: wf.responses };
  }

  function newDecisions(from: number): DecisionRecord[] {
    return h.decisions.records.slice(from).filter((r) => r.kind === 'decision');
  }

  test('a chat completion goes through to /v1/chat/completions without the caller credentials', async () => {
    const { client } = openai(await warrantFor([{ action: 'llm:chat', resource: 'model:gpt-4o*' }]));
    const from = h.decisions.records.length;
    const seenFrom = upstream.requests.length;
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'echo: hello');
    assert.equal(completion.model, 'gpt-4o-mini');

    const seen = upstream.requests.slice(seenFrom);
    assert.equal(seen.length, 1);
    const [request] = seen;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, '/v1/chat/completions');
    assert.deepEqual(request!.body, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    assert.ok(!('authorization' in request!.headers), 'the upstream never sees an Authorization header');
    assert.ok(!('dpop' in request!.headers));
    assert.equal(request!.headers['warrant-person'], 'alice');
    assert.equal(request!.headers['warrant-actor'], agentIdOf('assistant'));

    const [decision, ...rest] = newDecisions(from);
    assert.deepEqual(rest, []);
    assert.equal(decision?.decision, 'allow');
    assert.equal(decision.action, 'llm:chat');
    assert.equal(decision.resource, 'model:gpt-4o-mini', 'the record names the model the grant had to cover');
    assert.equal(decision.recipient, LLM);
    assert.equal(decision.caller, agentIdOf('assistant'));
    assert.deepEqual(decision.used, { action: 'llm:chat', resource: 'model:gpt-4o*' });
    assert.equal(request!.headers['warrant-decision'], decision.id);
  });

  test('a streaming completion yields every chunk as the upstream writes it', async () => {
    const { client } = openai(await warrantFor([{ action: 'llm:chat', resource: 'model:gpt-4o*' }]));
    const from = h.decisions.records.length;
    const seenFrom = upstream.requests.length;
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'explain' }],
      stream: true,
    });
    const chunks: { id: string; content: string | null | undefined; finish: string | null; at: number }[] =
      [];
    for await (const chunk of stream) {
      chunks.push({
        id: chunk.id,
        content: chunk.choices[0]?.delta.content,
        finish: chunk.choices[0]?.finish_reason ?? null,
        at: performance.now(),
      });
    }
    assert.equal(chunks.map((c) => c.content ?? '').join(''), STREAM_WORDS.join(''));
    assert.equal(chunks.length, STREAM_WORDS.length + 2);
    assert.equal(chunks.at(-1)!.finish, 'stop');
    const request = upstream.requests.slice(seenFrom)[0]!;
    assert.equal(request.body?.['stream'], true);
    assert.ok(!('authorization' in request.headers));

    // No buffering: chunk i reached the client before the upstream wrote chunk i+1 (the last write is
    // the `[DONE]` sentinel, which the client consumes without yielding).
    const written = upstream.written.get(chunks[0]!.id)!;
    assert.equal(written.length, chunks.length + 1);
    for (let i = 0; i + 1 < chunks.length; i++) {
      assert.ok(
        chunks[i]!.at < written[i + 1]!,
        `chunk ${i} arrived ${Math.round(chunks[i]!.at - written[i + 1]!)} ms after chunk ${i + 1} was written`,
      );
    }
    assert.ok(
      chunks[0]!.at < written.at(-1)! - 3 * CHUNK_GAP_MS,
      'the first chunk came long before the last',
    );

    const [decision, ...rest] = newDecisions(from);
    assert.deepEqual(rest, []);
    assert.equal(decision?.decision, 'allow');
    assert.equal(decision.action, 'llm:chat');
  });

  test('a model that is not in the catalog is refused: 403 WARRANT_ACTION_UNKNOWN, recorded', async () => {
    const { client, responses } = openai(await warrantFor([{ action: 'llm:*', resource: 'model:*' }]));
    const from = h.decisions.records.length;
    const seenFrom = upstream.requests.length;
    const error = await client.chat.completions
      .create({ model: 'o1-preview', messages: [{ role: 'user', content: 'think' }] })
      .then(
        () => assert.fail('the call went through'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof OpenAI.PermissionDeniedError);
    assert.equal(error.status, 403);
    const body = (await responses.at(-1)!.json()) as {
      error: string;
      code: string;
      error_description: string;
    };
    assert.equal(body.error, 'access_denied');
    assert.equal(body.code, 'WARRANT_ACTION_UNKNOWN');
    assert.match(body.error_description, /model o1-preview/);
    assert.equal(upstream.requests.length, seenFrom, 'nothing reached the upstream');

    const [decision, ...rest] = newDecisions(from);
    assert.deepEqual(rest, []);
    assert.equal(decision?.decision, 'deny');
    assert.equal(decision.code, 'WARRANT_ACTION_UNKNOWN');
    assert.equal(decision.caller, agentIdOf('assistant'));
  });

  test('a warrant without a grant for llm:chat is refused: 403 insufficient_scope, recorded', async () => {
    const { client, responses } = openai(await warrantFor([{ action: 'llm:embed', resource: 'model:*' }]));
    const from = h.decisions.records.length;
    const seenFrom = upstream.requests.length;
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => assert.fail('the call went through'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof OpenAI.PermissionDeniedError);
    const refusal = responses.at(-1)!;
    assert.equal(refusal.status, 403);
    assert.match(refusal.headers.get('www-authenticate') ?? '', /^DPoP error="insufficient_scope"/);
    const body = (await refusal.json()) as { error: string; code: string };
    assert.equal(body.error, 'insufficient_scope');
    assert.equal(body.code, 'WARRANT_GRANT_NOT_HELD');
    assert.equal(upstream.requests.length, seenFrom);

    const [decision, ...rest] = newDecisions(from);
    assert.deepEqual(rest, []);
    assert.equal(decision?.decision, 'deny');
    assert.equal(decision.action, 'llm:chat');
    assert.equal(decision.code, 'WARRANT_GRANT_NOT_HELD');
    assert.equal(decision.resource, 'model:gpt-4o');
    assert.deepEqual(decision.granted, [{ action: 'llm:embed', resource: 'model:*' }]);
  });
});
