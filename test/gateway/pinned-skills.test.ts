/**
 * Pinned tools on an A2A route (DESIGN §6, docs/guard.md): the official A2A SDK agent behind the gateway,
 * its agent card fetched through the route. Under trust on first use the card's skills are pinned when the
 * card first passes; when the agent changes a skill, the next card hides it, a message naming that skill is
 * refused with WARRANT_TOOL_QUARANTINED (a denial in the ledger), the drift is listed — and after an
 * operator approves the new definition it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CatalogAction } from '../../src/guard/catalog.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { type A2aAgent, createA2aAgent } from '../support/a2a-agent.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { rpcRefusal } from './rejections-support.ts';

const RESEARCHER = agentIdOf('researcher');

const action = (name: string, match: Omit<CatalogAction['match'], 'protocol'>): CatalogAction => ({
  name,
  match: { protocol: 'a2a', ...match },
  impact: 'low',
  dataClass: 'internal',
  reversibility: 'reversible',
  blastRadius: 1,
});

const RESEARCH = { id: 'research', name: 'Research', description: 'Looks things up', tags: ['research'] };

describe('pinned skills through the gateway (A2A SDK agent, agent card)', () => {
  let h: GatewayHarness;
  let agent: A2aAgent;
  let planner: AgentClient;
  let warrant: string;

  const card = async () => {
    const r = await h.call(planner, warrant, '/a2a/.well-known/agent-card.json');
    assert.equal(r.status, 200);
    return (await r.json()) as { skills: { id: string }[] };
  };

  const send = (skill: string) =>
    h.call(planner, warrant, '/a2a', {
      method: 'POST',
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: {
            messageId: crypto.randomUUID(),
            role: 'ROLE_USER',
            parts: [{ text: 'hello' }],
            metadata: { skill },
          },
        },
      }),
      headers: { accept: 'application/json' },
    });

  const listing = async () => {
    const r = await h.sts.admin('GET', '/tools?route=/a2a');
    assert.equal(r.status, 200);
    return (await r.json()) as {
      items: { tool: string; status: string; digest?: string; seenDigest: string }[];
      drift: { tool: string; oldDigest: string; newDigest: string; changed: string[] }[];
    };
  };

  before(async () => {
    agent = createA2aAgent();
    h = await startGatewayHarness({
      upstreams: { researcher: agent.handler },
      routes: (u) => [
        {
          match: { pathPrefix: '/a2a' },
          upstream: u['researcher']!,
          audience: RESEARCHER,
          protocol: 'a2a',
          tools: { pinning: 'tofu' },
        },
      ],
      catalog: [
        action('a2a:card.read', { rpcMethod: '$http:GET' }),
        action('a2a:research.send', { rpcMethod: 'SendMessage', skill: 'research' }),
      ],
      guard: (sts) => sts.plane.guard,
    });
    agent.setPublicUrl(`${h.gw.url}/a2a`);
    await h.sts.agent('researcher');
    planner = await h.sts.agent('planner');
    warrant = (
      await planner.exchange({
        subjectToken: h.sts.idToken('alice', planner),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: RESEARCHER,
        grants: [{ action: 'a2a:*', resource: RESEARCHER }],
      })
    ).access_token;
  });

  after(async () => {
    await h?.close();
  });

  test('a message naming a skill before the card was seen is refused (nothing to trust yet)', async () => {
    const r = await send('research');
    assert.equal((await rpcRefusal(r)).code, 'WARRANT_TOOL_NOT_APPROVED');
  });

  test('the card passing through pins its skills; the skill is then callable', async () => {
    assert.deepEqual(
      (await card()).skills.map((s) => s.id),
      ['research'],
    );
    const pins = await listing();
    assert.deepEqual(
      pins.items.map((p) => [p.tool, p.status]),
      [['research', 'approved']],
    );
    const r = await send('research');
    assert.equal(r.status, 200, await r.clone().text());
  });

  test('a changed skill is hidden from the card, its messages refused and recorded, the drift listed; approval restores it', async () => {
    const before = (await listing()).items[0]!;
    agent.setSkills([{ ...RESEARCH, tags: ['research', 'payments'], examples: ['pay invoice 42'] }]);
    assert.deepEqual((await card()).skills, [], 'the changed skill is not shown');
    const mark = h.decisions.records.length;
    const r = await send('research');
    assert.equal((await rpcRefusal(r)).code, 'WARRANT_TOOL_QUARANTINED');
    const records = h.decisions.records.slice(mark).filter((d) => d.kind === 'decision');
    assert.deepEqual(
      records.map((d) => [d.decision, d.code]),
      [['deny', 'WARRANT_TOOL_QUARANTINED']],
    );
    const pins = await listing();
    assert.equal(pins.items[0]?.status, 'quarantined');
    assert.deepEqual(
      pins.drift.map((d) => [d.tool, d.oldDigest, d.changed]),
      [['research', before.digest, ['examples', 'tags']]],
    );
    const approve = await h.sts.admin('POST', '/tools/approve', {
      route: '/a2a',
      tool: 'research',
      digest: pins.items[0]!.seenDigest,
    });
    assert.equal(approve.status, 200);
    assert.deepEqual(
      (await card()).skills.map((s) => s.id),
      ['research'],
    );
    assert.equal((await send('research')).status, 200);
  });
});
