/**
 * An LLM token budget (DESIGN §6): tokens are counted from the usage an `openai` upstream reports — in the
 * JSON completion, or in the final chunk of a stream that asked for it (`stream_options.include_usage`) —
 * after the answer; the call that finds the budget already reached is refused before it is forwarded.
 * The real `openai` client talks to a fake OpenAI-compatible upstream through the gateway.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type BudgetGateway, type BudgetWorld, startBudgetWorld } from '../support/budget-gateways.ts';
import { warrantFetch } from '../support/openai-upstream.ts';

const LLM = 'https://llm.warrant.test';
const BUDGET = 'tokens-per-agent';
let world: BudgetWorld;
let gateway: BudgetGateway;
let reached = 0;
let agents = 0;

/** Chat completions that report usage: 5 tokens for a JSON answer, 7 in a stream's usage chunk (when asked). */
async function upstream(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  reached++;
  const body = JSON.parse(Buffer.concat(chunks).toString()) as {
    model: string;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
  };
  const base = { id: 'chatcmpl-1', created: 1, model: body.model };
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  const chunk = (delta: object, finish: string | null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...(body.stream_options?.include_usage ? { usage: null } : {}),
  });
  send(chunk({ role: 'assistant', content: 'hel' }, null));
  send(chunk({ content: 'lo' }, 'stop'));
  if (body.stream_options?.include_usage)
    send({ ...base, object: 'chat.completion.chunk', choices: [], usage: { total_tokens: 7 } });
  res.end('data: [DONE]\n\n');
}

before(async () => {
  world = await startBudgetWorld({
    budgets: [{ name: BUDGET, scope: 'agent', quantity: 'llm_tokens', actions: ['llm:*'], limit: 10 }],
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
    upstream: (req, res) => {
      upstream(req, res).catch((e: unknown) => res.destroy(e as Error));
    },
    routes: (u) => [{ match: { pathPrefix: '/v1' }, upstream: `${u}/v1`, audience: LLM, protocol: 'openai' }],
  });
  gateway = await world.gateway();
});

after(async () => {
  await world?.close();
});

async function assistant(): Promise<{ agent: AgentClient; client: OpenAI; responses: Response[] }> {
  const agent = await world.sts.agent(`assistant-${++agents}`, { allowedAudiences: [LLM] });
  const warrant = await world.warrant(agent, LLM, [{ action: 'llm:chat', resource: 'model:gpt-4o*' }]);
  const wf = warrantFetch(agent, () => warrant);
  const client = new OpenAI({
    apiKey: 'unused',
    baseURL: `${gateway.gw.url}/v1`,
    fetch: wf.fetch,
    maxRetries: 0,
  });
  return { agent, client, responses: wf.responses };
}

/** The tokens spent by `agent`, once they settle to `expected` (counted after the answer). */
async function tokensSettle(agent: AgentClient, expected: number): Promise<void> {
  let spent: number | undefined;
  for (let i = 0; i < 100; i++) {
    spent = (await gateway.guard.budgets.store.spent(BUDGET)).find(
      (s) => s.key === `agent:${agent.agentId}`,
    )?.spent;
    if (spent === expected) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(spent, expected);
}

const messages = [{ role: 'user' as const, content: 'hello' }];

test('tokens reported by a JSON completion and a streamed one are counted; the call after the cap is refused', async () => {
  const { agent, client, responses } = await assistant();
  const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
  assert.equal(completion.usage?.total_tokens, 5);
  await tokensSettle(agent, 5);

  const stream = await client.chat.completions.create({
    model: 'gpt-4o',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  assert.equal(text, 'hello');
  // 5 + 7: past the limit of 10 — a call already under way is not cut off; the next one is refused.
  await tokensSettle(agent, 12);

  const before = reached;
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages }), { status: 403 });
  const refusal = (await responses.at(-1)!.json()) as Record<string, unknown>;
  assert.equal(refusal['code'], 'WARRANT_BUDGET_EXCEEDED');
  assert.match(
    String(refusal['error_description']),
    /tokens-per-agent \(llm_tokens per agent\): limit 10, spent 12; the limit is reached/,
  );
  assert.equal(reached, before, 'not forwarded');
  const record = gateway.decisions.records.filter((r) => r.kind === 'decision').at(-1)!;
  assert.deepEqual(record.budgets, [
    { name: BUDGET, key: `agent:${agent.agentId}`, limit: 10, spent: 12, quantity: 0 },
  ]);
});

test('a streamed call that does not ask for its usage is refused WARRANT_BUDGET_UNMETERED (it could not be counted)', async () => {
  const { client, responses } = await assistant();
  const before = reached;
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }), {
    status: 403,
  });
  const refusal = (await responses.at(-1)!.json()) as Record<string, unknown>;
  assert.equal(refusal['code'], 'WARRANT_BUDGET_UNMETERED');
  assert.match(String(refusal['error_description']), /stream_options\.include_usage/);
  assert.equal(reached, before);
});
