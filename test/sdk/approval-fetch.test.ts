/**
 * The SDK `fetch` and human approval, end to end through the STS, the gateway and the approvals API: a
 * payment above the executor's bound is refused `WARRANT_APPROVAL_REQUIRED`; the fetch tells the
 * application the approval id, waits while the person decides, exchanges its warrant naming the approval
 * and sends the same payment once more — which goes through, once. A denied approval hands back the
 * refusal; `approvals: 'return'` hands it back at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type ApprovalRequired, createWarrantFetch } from '../../src/sdk/index.ts';
import { claimsOf, hop, rootWarrant, TOOLS, Upstreams, WIDE } from '../gateway/rejections-support.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf, PERSON_AUDIENCE } from '../support/sts-harness.ts';

const PAY = `${TOOLS}/pay`;
const up = new Upstreams();
let h: GatewayHarness;
let executor: AgentClient;
let warrant: string;
const paid: string[] = [];

before(async () => {
  h = await startGatewayHarness({
    sharedGuard: true,
    upstreams: {
      pay: up.handler('pay', (_req, res, body) => {
        paid.push(body.toString());
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"paid":true}');
      }),
    },
    routes: (u) => [{ match: { pathPrefix: '/pay' }, upstream: u['pay']!, audience: PAY, protocol: 'http' }],
    catalog: [
      {
        name: 'payments:pay',
        match: { protocol: 'http', method: 'POST', path: '/pay/payments' },
        // Risk 55: above level 0's bound of 39 (see test/gateway/approvals.test.ts).
        impact: 'high',
        dataClass: 'internal',
        reversibility: 'compensable',
        blastRadius: 1,
        parameters: { amount: { in: 'body', pointer: '/amount' } },
      },
    ],
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'payments:*', resource: `${TOOLS}/*`, constraints: { max_amount: 500 } },
  ]);
  warrant = await hop(executor, root, PAY);
});

after(async () => {
  await h?.close();
});

/** alice decides, with her own ID token, as a person answering the prompt would. */
function decide(id: string, verb: 'approve' | 'deny'): Promise<Response> {
  return fetch(`${h.sts.url}/approvals/${id}/${verb}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${h.sts.idToken('alice', 'executor', { aud: PERSON_AUDIENCE })}`,
    },
    body: JSON.stringify({ reason: 'sdk test' }),
  });
}

const payment = (amount: number) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ amount, to: 'acct-1' }),
});

describe('approval_required through the SDK fetch', () => {
  test('waits for the approval, re-exchanges, retries once: the payment completes', async () => {
    const asked: ApprovalRequired[] = [];
    const outcomes: string[] = [];
    const before = paid.length;
    const f = createWarrantFetch({
      client: executor,
      warrant,
      approvalWait: { intervalMs: 50, timeoutMs: 20_000 },
      // The application shows the person the approval; here the person approves a moment later.
      onApproval: (a) => {
        asked.push(a);
        setTimeout(() => void decide(a.approvalId, 'approve'), 100);
      },
      onApprovalOutcome: (_a, outcome) => outcomes.push(outcome),
    });
    const r = await f(`${h.gw.url}/pay/payments`, payment(80));
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), { paid: true });
    assert.equal(asked.length, 1);
    assert.match(asked[0]!.approvalId, /^[0-9a-f-]{36}$/);
    assert.equal(asked[0]!.approvalUri, `${h.sts.plane.sts.issuer}/approvals/${asked[0]!.approvalId}`);
    assert.deepEqual(outcomes, ['approved']);
    assert.deepEqual(paid.slice(before), [JSON.stringify({ amount: 80, to: 'acct-1' })], 'paid exactly once');
    // The call that went through carried the approval hop: the decision record names the approval.
    const allowed = h.decisions.records.filter((d) => d.kind === 'decision' && d.decision === 'allow').at(-1);
    assert.equal(allowed?.bound?.approval?.id, asked[0]!.approvalId, 'the allowed call spent the approval');
    // The approval is spent: polling says so.
    const poll = (await (await fetch(`${h.sts.url}/approvals/${asked[0]!.approvalId}`)).json()) as {
      status: string;
    };
    assert.equal(poll.status, 'used');
  });

  test('a denied approval hands back the original refusal, and nothing is paid', async () => {
    const before = paid.length;
    const f = createWarrantFetch({
      client: executor,
      warrant,
      approvalWait: { intervalMs: 50, timeoutMs: 20_000 },
      onApproval: (a) => {
        setTimeout(() => void decide(a.approvalId, 'deny'), 100);
      },
    });
    const r = await f(`${h.gw.url}/pay/payments`, payment(81));
    assert.equal(r.status, 403);
    const body = (await r.json()) as { code: string; approval_id: string };
    assert.equal(body.code, 'WARRANT_APPROVAL_REQUIRED');
    assert.equal(paid.length, before);
  });

  test("approvals: 'return' hands the approval id to the callback and the refusal back at once", async () => {
    const asked: ApprovalRequired[] = [];
    const f = createWarrantFetch({
      client: executor,
      warrant,
      approvals: 'return',
      onApproval: (a) => void asked.push(a),
    });
    const r = await f(`${h.gw.url}/pay/payments`, payment(82));
    assert.equal(r.status, 403);
    const body = (await r.json()) as { approval_id: string };
    assert.equal(asked.length, 1);
    assert.equal(asked[0]!.approvalId, body.approval_id);
    assert.equal(asked[0]!.method, 'POST');
    const poll = (await (await fetch(`${h.sts.url}/approvals/${body.approval_id}`)).json()) as {
      status: string;
    };
    assert.equal(poll.status, 'pending');
    assert.equal(claimsOf(warrant)['aud'], PAY);
  });
});
