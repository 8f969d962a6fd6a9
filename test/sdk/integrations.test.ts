/**
 * The SDK's `fetch` plugged into the protocols' own clients, through a running gateway (docs/sdk.md shows
 * these few lines): the MCP TypeScript SDK's `StreamableHTTPClientTransport`, the A2A JS SDK client and the
 * `openai` client. One agent, one token pool over the warrant alice's planner handed it: each route's
 * audience costs one exchange, every request carries a fresh DPoP proof, and the upstreams see who called on
 * whose behalf but never the caller's credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import OpenAI from 'openai';
import { createAgent, TOKEN_TYPES, type WarrantAgent } from '../../src/sdk/index.ts';
import { type A2aAgent, createA2aAgent, userMessage } from '../support/a2a-agent.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { type McpUpstream, mcpUpstream } from '../support/mcp-upstream.ts';
import { createOpenAiUpstream, type OpenAiUpstream } from '../support/openai-upstream.ts';
import { agentIdOf, PERSON_AUDIENCE } from '../support/sts-harness.ts';

const TOOLS = 'https://tools.warrant.test';
const CRM = `${TOOLS}/crm-mcp`;
const RESEARCHER = agentIdOf('researcher');
const LLM = 'https://llm.warrant.test';
const EXECUTOR = agentIdOf('executor');

let h: GatewayHarness;
let mcp: McpUpstream;
let a2a: A2aAgent;
let llm: OpenAiUpstream;
let agent: WarrantAgent;

before(async () => {
  mcp = mcpUpstream({ stateful: true, refund: true });
  a2a = createA2aAgent();
  llm = createOpenAiUpstream();
  const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
  h = await startGatewayHarness({
    sharedGuard: true,
    upstreams: { mcp: mcp.handler, a2a: a2a.handler, llm: llm.handler },
    routes: (u) => [
      { match: { pathPrefix: '/mcp' }, upstream: `${u['mcp']}/mcp`, audience: CRM, protocol: 'mcp' },
      { match: { pathPrefix: '/a2a' }, upstream: u['a2a']!, audience: RESEARCHER, protocol: 'a2a' },
      { match: { pathPrefix: '/v1' }, upstream: `${u['llm']}/v1`, audience: LLM, protocol: 'openai' },
    ],
    catalog: [
      { name: 'crm:contacts.get', match: { protocol: 'mcp', tool: 'get_contact' }, ...low },
      // Above an untrusted executor's bound (risk 55 > 39): every refund needs alice's approval.
      {
        name: 'crm:refund',
        match: { protocol: 'mcp', tool: 'refund' },
        impact: 'high',
        dataClass: 'internal',
        reversibility: 'compensable',
        blastRadius: 1,
      },
      {
        name: 'a2a:card.read',
        match: { protocol: 'a2a', rpcMethod: '$http:GET' },
        ...low,
        dataClass: 'public',
      },
      {
        name: 'a2a:research.send',
        match: { protocol: 'a2a', rpcMethod: 'SendMessage', skill: 'research' },
        ...low,
      },
      { name: 'llm:chat', match: { protocol: 'openai', model: 'gpt-4o*' }, ...low },
    ],
  });
  a2a.setPublicUrl(`${h.gw.url}/a2a`);
  await h.sts.agent('researcher');
  const planner = await h.sts.agent('planner');
  const executor = await h.sts.agent('executor', {
    allowedAudiences: [`${TOOLS}/*`, LLM, 'spiffe://warrant.test/*'],
  });
  // alice, through her planner, hands the executor a warrant for the CRM, the researcher and the LLM.
  const handed = await planner.exchange({
    subjectToken: h.sts.idToken('alice', planner),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: EXECUTOR,
    grants: [
      { action: 'crm:*', resource: `${TOOLS}/*` },
      { action: 'a2a:*', resource: RESEARCHER },
      { action: 'llm:chat', resource: 'model:gpt-4o*' },
    ],
  });
  agent = await createAgent({
    issuer: h.sts.plane.sts.issuer,
    agentId: EXECUTOR,
    key: executor.key,
    subject: { token: handed.access_token },
  });
});

after(async () => {
  agent?.close();
  await mcp?.close();
  await h?.close();
});

describe('the SDK fetch in the protocols own clients', () => {
  test('MCP: StreamableHTTPClientTransport with the Warrant fetch (DPoP included) calls a tool', async () => {
    const client = new Client({ name: 'executor', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp`), {
      fetch: agent.fetch({ audience: CRM }),
    });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'get_contact', arguments: { id: 'c-1' } });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      const call = mcp.toolCalls.at(-1)!;
      assert.equal(call.tool, 'get_contact');
      assert.equal(call.person, 'alice');
      assert.equal(call.actor, EXECUTOR);
      const seen = mcp.seen.filter((s) => s.method === 'POST');
      assert.ok(seen.length >= 2);
      for (const s of seen) {
        assert.ok(!s.headerNames.includes('authorization'), 'no caller credential reaches the upstream');
        assert.ok(!s.headerNames.includes('dpop'));
      }
    } finally {
      await client.close();
    }
  });

  test('MCP: a tool call that needs approval waits for the person, then completes as a tool result', async () => {
    const asked: string[] = [];
    const client = new Client({ name: 'executor', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp`), {
      fetch: agent.fetch(
        { audience: CRM },
        {
          approvalWait: { intervalMs: 50, timeoutMs: 20_000 },
          onApproval: ({ approvalId }) => {
            asked.push(approvalId);
            // alice approves with her own ID token, as the approvals UI would.
            setTimeout(
              () =>
                void fetch(`${h.sts.url}/approvals/${approvalId}/approve`, {
                  method: 'POST',
                  headers: {
                    'content-type': 'application/json',
                    authorization: `Bearer ${h.sts.idToken('alice', 'executor', { aud: PERSON_AUDIENCE })}`,
                  },
                  body: JSON.stringify({ reason: 'ok' }),
                }),
              50,
            );
          },
        },
      ),
    });
    await client.connect(transport);
    try {
      const before = mcp.toolCalls.filter((c) => c.tool === 'refund').length;
      const result = await client.callTool({ name: 'refund', arguments: { amount: 50, currency: 'EUR' } });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.deepEqual(result.content, [{ type: 'text', text: 'refunded 50 EUR' }]);
      assert.equal(asked.length, 1);
      assert.equal(mcp.toolCalls.filter((c) => c.tool === 'refund').length, before + 1, 'refunded once');
    } finally {
      await client.close();
    }
  });

  test('A2A: the JS SDK client (fetchImpl) discovers the agent and sends a message', async () => {
    const fetchImpl = agent.fetch({ audience: RESEARCHER });
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      }),
    );
    const client = await factory.createFromUrl(`${h.gw.url}/a2a/`);
    const result = await client.sendMessage({
      message: userMessage('hello', { skill: 'research' }),
    } as never);
    assert.ok('parts' in result, 'a message comes back');
    const reply = result.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    assert.equal(reply, 'echo: hello');
    const last = a2a.seen.at(-1)!;
    assert.equal(last.headers['warrant-person'], 'alice');
    assert.equal(last.headers['authorization'], undefined);
  });

  test('openai: the client with the Warrant fetch completes a chat', async () => {
    const openai = new OpenAI({
      apiKey: 'unused',
      baseURL: `${h.gw.url}/v1`,
      fetch: agent.fetch({ audience: LLM }),
      maxRetries: 0,
    });
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'echo: hello');
    const seen = llm.requests.at(-1)!;
    assert.equal(
      seen.headers['authorization'],
      undefined,
      'neither the warrant nor the api key is forwarded',
    );
    assert.equal(seen.headers['warrant-person'], 'alice');
  });

  test('one exchange per audience however many requests were made', () => {
    // The MCP route's pooled warrant served both MCP clients; the approval hop is never pooled.
    assert.equal(agent.pool.exchanges, 3);
  });
});
