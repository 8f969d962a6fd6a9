/**
 * The official A2A SDK (`@a2a-js/sdk`) client and server, with the gateway between them (DESIGN §7):
 * the client presents a DPoP-bound warrant whose audience is the A2A agent; the gateway maps each
 * JSON-RPC method (and skill) to a catalog action, decides, records, and forwards — streaming
 * `message/stream` events through as they are published.
 *
 * The SDK speaks A2A 1.0, whose JSON-RPC methods are `SendMessage`, `SendStreamingMessage`,
 * `CancelTask`…; A2A 0.3 peers say `message/send`, `message/stream`, `tasks/cancel`. The gateway
 * matches the method name as sent, so the catalog lists both spellings.
 *
 * The agent card (GET) is public metadata, but everything under a route needs a warrant at the
 * gateway; the catalog therefore has a low-impact, public-data action for `$http:GET` and the client
 * fetches the card through the gateway with its warrant like any other call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StreamResponse } from '@a2a-js/sdk';
import {
  Client,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';
import type { CatalogAction } from '../../src/guard/catalog.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import {
  type A2aAgent,
  createA2aAgent,
  dpopFetch,
  STREAM_CHUNKS,
  STREAM_GAP_MS,
  userMessage,
} from '../support/a2a-agent.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { rpcRefusal } from './rejections-support.ts';

const RESEARCHER = agentIdOf('researcher');

const action = (
  name: string,
  match: Omit<CatalogAction['match'], 'protocol'>,
  impact: CatalogAction['impact'] = 'low',
  dataClass: CatalogAction['dataClass'] = 'internal',
): CatalogAction => ({
  name,
  match: { protocol: 'a2a', ...match },
  impact,
  dataClass,
  reversibility: impact === 'critical' ? 'irreversible' : 'reversible',
  blastRadius: 1,
});

const CATALOG: CatalogAction[] = [
  action('a2a:card.read', { rpcMethod: '$http:GET' }, 'low', 'public'),
  action('a2a:research.send', { rpcMethod: 'SendMessage', skill: 'research' }),
  action('a2a:research.stream', { rpcMethod: 'SendStreamingMessage', skill: 'research' }),
  action('a2a:research.send.v0_3', { rpcMethod: 'message/send', skill: 'research' }),
  action('a2a:research.stream.v0_3', { rpcMethod: 'message/stream', skill: 'research' }),
  action('a2a:tasks.cancel', { rpcMethod: 'CancelTask' }, 'critical'),
  action('a2a:tasks.cancel.v0_3', { rpcMethod: 'tasks/cancel' }, 'critical'),
];

/** A `fetch` that also keeps every response the gateway gave, for asserting refusals the SDK wraps. */
function recording(inner: typeof fetch): { fetch: typeof fetch; responses: Response[] } {
  const responses: Response[] = [];
  return {
    responses,
    fetch: async (input, init) => {
      const response = await inner(input, init);
      responses.push(response.clone());
      return response;
    },
  };
}

describe('A2A SDK client and server through the gateway', () => {
  let h: GatewayHarness;
  let agent: A2aAgent;
  let planner: AgentClient;
  let warrant: string;
  let base: string;

  before(async () => {
    agent = createA2aAgent();
    h = await startGatewayHarness({
      upstreams: { researcher: agent.handler },
      routes: (u) => [
        { match: { pathPrefix: '/a2a' }, upstream: u['researcher']!, audience: RESEARCHER, protocol: 'a2a' },
      ],
      catalog: CATALOG,
    });
    base = `${h.gw.url}/a2a`;
    agent.setPublicUrl(base);
    await h.sts.agent('researcher');
    planner = await h.sts.agent('planner');
    const issued = await planner.exchange({
      subjectToken: h.sts.idToken('alice', planner),
      subjectTokenType: TOKEN_TYPES.idToken,
      audience: RESEARCHER,
      grants: [{ action: 'a2a:*', resource: RESEARCHER }],
    });
    warrant = issued.access_token;
  });

  after(async () => {
    await h?.close();
  });

  /** A v1.0 SDK client that discovers the agent through the gateway, presenting the warrant. */
  async function sdkClient(): Promise<{ client: Client; responses: Response[] }> {
    const rec = recording(dpopFetch(planner, () => warrant));
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl: rec.fetch })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl: rec.fetch }),
      }),
    );
    // The trailing slash keeps the well-known card path under the route (`/a2a/.well-known/…`).
    return { client: await factory.createFromUrl(`${base}/`), responses: rec.responses };
  }

  function newDecisions(from: number): DecisionRecord[] {
    return h.decisions.records.slice(from).filter((r) => r.kind === 'decision');
  }

  test('message/send: the card and the call go through, each with an allow record', async () => {
    const from = h.decisions.records.length;
    const seenFrom = agent.seen.length;
    const { client } = await sdkClient();
    assert.equal(client.protocolVersion, '1.0');
    const result = await client.sendMessage({
      message: userMessage('hello', { skill: 'research' }),
    } as never);
    assert.ok('parts' in result, 'a message comes back');
    const reply = result.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    assert.equal(reply, 'echo: hello');

    const decisions = newDecisions(from);
    assert.deepEqual(
      decisions.map((d) => [d.decision, d.action]),
      [
        ['allow', 'a2a:card.read'],
        ['allow', 'a2a:research.send'],
      ],
    );
    const send = decisions[1]!;
    assert.equal(send.caller, agentIdOf('planner'));
    assert.equal(send.recipient, RESEARCHER);
    assert.equal(send.person?.sub, 'alice');
    assert.deepEqual(send.used, { action: 'a2a:*', resource: RESEARCHER });

    // The agent saw the gateway's verified identity, never the caller's credentials, and each call it
    // received had its decision recorded first.
    const seen = agent.seen.slice(seenFrom);
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.path}`),
      ['GET /.well-known/agent-card.json', 'POST /'],
    );
    for (const [i, s] of seen.entries()) {
      assert.equal(s.headers['authorization'], undefined);
      assert.equal(s.headers['dpop'], undefined);
      assert.equal(s.headers['warrant-person'], 'alice');
      assert.equal(s.headers['warrant-actor'], agentIdOf('planner'));
      assert.equal(s.headers['warrant-decision'], decisions[i]!.id);
    }
  });

  test('message/stream: every event arrives, in order, each before the next is published', async () => {
    const from = h.decisions.records.length;
    const { client } = await sdkClient();
    const events: { event: StreamResponse; at: number }[] = [];
    for await (const event of client.sendMessageStream({
      message: userMessage('stream please', { skill: 'research', mode: 'stream' }),
    } as never)) {
      events.push({ event, at: performance.now() });
    }
    const cases = events.map((e) => e.event.payload?.$case);
    assert.deepEqual(cases, [
      'task',
      'statusUpdate',
      ...STREAM_CHUNKS.map(() => 'artifactUpdate'),
      'statusUpdate',
    ]);
    const chunks = events.flatMap((e) =>
      e.event.payload?.$case === 'artifactUpdate'
        ? (e.event.payload.value.artifact?.parts ?? []).map((p) =>
            p.content?.$case === 'text' ? p.content.value : '',
          )
        : [],
    );
    assert.deepEqual(chunks, STREAM_CHUNKS);
    const last = events.at(-1)!.event.payload;
    assert.equal(last?.$case, 'statusUpdate');

    const taskId = events[0]!.event.payload?.$case === 'task' ? events[0]!.event.payload.value.id : '';
    const published = agent.published.get(taskId);
    assert.ok(published, 'the executor published this task');
    assert.equal(published.length, events.length);
    // No buffering: the client held event i before the executor even published event i+1, and the
    // first event arrived long before the last one was sent.
    for (let i = 0; i + 1 < events.length; i++) {
      assert.ok(
        events[i]!.at < published[i + 1]!.at,
        `event ${i} (${published[i]!.label}) arrived ${Math.round(events[i]!.at - published[i + 1]!.at)} ms after event ${i + 1} was published`,
      );
    }
    assert.ok(events[0]!.at < published.at(-1)!.at - 3 * STREAM_GAP_MS);

    const decisions = newDecisions(from);
    assert.deepEqual(
      decisions.map((d) => [d.decision, d.action]),
      [
        ['allow', 'a2a:card.read'],
        ['allow', 'a2a:research.stream'],
      ],
    );
  });

  // Above the caller's bound: a person's approval is needed (guard.autonomy.bounds), not a permanent deny.
  test('tasks/cancel (critical impact, no approval) is refused as a JSON-RPC error and recorded as approval_required', async () => {
    const { client, responses } = await sdkClient();
    const from = h.decisions.records.length;
    const seenFrom = agent.seen.length;
    // The SDK surfaces it as the call's JSON-RPC error, with the Warrant refusal as its data.
    const error = await client.cancelTask({ id: 'task-1' } as never).then(
      () => assert.fail('tasks/cancel must be refused'),
      (e: unknown) => e as { envelopeCode?: number; data?: { code?: string } },
    );
    assert.equal(error.envelopeCode, -32060, String(error));
    assert.equal(error.data?.code, 'WARRANT_APPROVAL_REQUIRED');
    const body = await rpcRefusal(responses.at(-1)!);
    assert.equal(body.error, 'access_denied');
    assert.equal(body.code, 'WARRANT_APPROVAL_REQUIRED');
    assert.equal(agent.seen.length, seenFrom, 'nothing reached the agent');
    assert.deepEqual(agent.cancelled, []);
    const [deny, ...rest] = newDecisions(from);
    assert.deepEqual(rest, []);
    assert.equal(deny?.decision, 'approval_required');
    assert.equal(deny.action, 'a2a:tasks.cancel');
    assert.equal(deny.code, 'WARRANT_APPROVAL_REQUIRED');
    assert.deepEqual(deny.used, { action: 'a2a:*', resource: RESEARCHER }, 'held, but above the bound');
  });

  test('a skill that is not in the catalog is an unknown action: a JSON-RPC error of message/send and a deny record', async () => {
    const { client, responses } = await sdkClient();
    const from = h.decisions.records.length;
    const seenFrom = agent.seen.length;
    const error = await client
      .sendMessage({ message: userMessage('move money', { skill: 'wire-transfer' }) } as never)
      .then(
        () => assert.fail('the unknown skill must be refused'),
        (e: unknown) => e as { envelopeCode?: number; data?: { code?: string } },
      );
    assert.equal(error.envelopeCode, -32060, String(error));
    assert.equal(error.data?.code, 'WARRANT_ACTION_UNKNOWN');
    const body = await rpcRefusal(responses.at(-1)!);
    assert.equal(body.code, 'WARRANT_ACTION_UNKNOWN');
    assert.match(body.error_description, /SendMessage skill wire-transfer/);
    assert.equal(agent.seen.length, seenFrom);
    const [deny, ...rest] = newDecisions(from);
    assert.deepEqual(rest, []);
    assert.equal(deny?.decision, 'deny');
    assert.equal(deny.code, 'WARRANT_ACTION_UNKNOWN');
    assert.equal(deny.action, undefined);
    assert.equal(deny.caller, agentIdOf('planner'));
  });

  test('an A2A 0.3 client (message/send, message/stream, tasks/cancel) is governed the same way', async () => {
    const rec = recording(dpopFetch(planner, () => warrant));
    const client = new Client(
      new LegacyJsonRpcTransport({ endpoint: base, fetchImpl: rec.fetch }),
      agent.card(),
    );
    assert.equal(client.protocolVersion, '0.3');
    const from = h.decisions.records.length;

    const result = await client.sendMessage({
      message: userMessage('old hello', { skill: 'research' }),
    } as never);
    assert.ok('parts' in result);
    const events: StreamResponse[] = [];
    for await (const e of client.sendMessageStream({
      message: userMessage('old stream', { skill: 'research', mode: 'stream' }),
    } as never))
      events.push(e);
    assert.equal(events.length, 2 + STREAM_CHUNKS.length + 1);
    await assert.rejects(client.cancelTask({ id: 'task-2' } as never));
    assert.equal((await rpcRefusal(rec.responses.at(-1)!)).code, 'WARRANT_APPROVAL_REQUIRED');

    assert.deepEqual(
      newDecisions(from).map((d) => [d.decision, d.action, d.code]),
      [
        ['allow', 'a2a:research.send.v0_3', undefined],
        ['allow', 'a2a:research.stream.v0_3', undefined],
        ['approval_required', 'a2a:tasks.cancel.v0_3', 'WARRANT_APPROVAL_REQUIRED'],
      ],
    );
  });
});
