/**
 * Bounded autonomy and human approval as a signed hop (DESIGN §3 `apv`, §6), end to end through the STS,
 * the gateway and its decision log, with raw HTTP: a payment above the executor's bound is refused with an
 * approval id; the person it is addressed to approves it with their own ID token; the agent re-exchanges
 * its warrant naming the approval and receives a short-lived warrant whose `apv` binds exactly that call;
 * the gateway lets that call through once — not another amount, not a second time, not after expiry or
 * withdrawal — and a denied approval stays denied.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { GuardRuntime } from '../../src/guard/runtime.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { ADMIN_TOKEN, agentIdOf, PERSON_AUDIENCE } from '../support/sts-harness.ts';
import {
  claimsOf,
  hop,
  nowSeconds,
  rootWarrant,
  TOKEN_TYPES,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const PAY = `${TOOLS}/pay`;
const up = new Upstreams();
let h: GatewayHarness;
let guard: GuardRuntime;
let executor: AgentClient;
let warrant: string;
/** Bodies the payments upstream received. */
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
        // 45 (high) + 5 (compensable) + 2 (internal) + 3 (one hop) = 55: above level 0's bound of 39.
        impact: 'high',
        dataClass: 'internal',
        reversibility: 'compensable',
        blastRadius: 1,
        parameters: { amount: { in: 'body', pointer: '/amount' } },
      },
      {
        name: 'payments:quote',
        match: { protocol: 'http', method: 'GET', path: '/pay/quote' },
        impact: 'low',
        dataClass: 'internal',
        reversibility: 'reversible',
        blastRadius: 1,
        parameters: { amount: { in: 'none' } },
      },
    ],
  });
  guard = h.sts.plane.guard;
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

const pay = (amount: number, token = warrant, to = 'acct-1') =>
  h.call(executor, token, '/pay/payments', { method: 'POST', body: JSON.stringify({ amount, to }) });

interface Asked {
  readonly approval_id: string;
  readonly approval_uri: string;
  readonly code: string;
}

/** A payment that needs approval: 403 with an approval id and where to poll, nothing paid, recorded. */
async function needsApproval(amount: number, token = warrant, to = 'acct-1'): Promise<Asked> {
  const before = paid.length;
  const from = h.decisions.records.length;
  const r = await pay(amount, token, to);
  assert.equal(r.status, 403);
  const body = (await r.json()) as Asked & { error: string };
  assert.equal(body.code, 'WARRANT_APPROVAL_REQUIRED');
  assert.equal(body.error, 'access_denied');
  assert.match(body.approval_id, /^[0-9a-f-]{36}$/);
  assert.equal(body.approval_uri, `${h.sts.plane.sts.issuer}/approvals/${body.approval_id}`);
  assert.equal(paid.length, before, 'nothing was paid');
  const [record, ...more] = decisionsSince(from);
  assert.deepEqual(more, []);
  assert.equal(record?.decision, 'approval_required');
  assert.equal(record.bound?.approval?.id, body.approval_id);
  assert.equal(record.bound?.effectiveBound, 39);
  assert.equal(record.risk?.score, 55);
  assert.deepEqual(
    record.risk?.factors.find((f) => f.name === 'impact'),
    { name: 'impact', input: 'high', weight: 45, points: 45 },
  );
  return body;
}

function decisionsSince(from: number) {
  return h.decisions.records.slice(from).filter((r) => r.kind === 'decision');
}

/** A person's ID token for approving: from the trusted issuer, addressed to the approvals audience. */
const personToken = (sub: string, claims: Record<string, unknown> = {}) =>
  h.sts.idToken(sub, 'executor', { aud: PERSON_AUDIENCE, ...claims });

function decideAs(token: string | undefined, id: string, verb: 'approve' | 'deny', body: unknown) {
  return fetch(`${h.sts.url}/approvals/${id}/${verb}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
}

async function expectCode(r: Response, status: number, code: string): Promise<void> {
  const text = await r.text();
  assert.equal(r.status, status, text);
  assert.equal((JSON.parse(text) as { code: string }).code, code, text);
}

/** The agent re-exchanges its warrant naming the approval. */
function exchangeFor(id: string, token = warrant) {
  return executor.exchange({
    subjectToken: token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: PAY,
    extra: { approval_id: id },
  });
}

async function exchangeRefused(id: string, code: string): Promise<void> {
  await assert.rejects(exchangeFor(id), (e: unknown) => {
    assert.equal((e as { code?: string }).code, code, String(e));
    return true;
  });
}

describe('a payment above the bound', () => {
  test('a low-risk call within the bound goes through alone', async () => {
    const r = await h.call(executor, warrant, '/pay/quote');
    assert.equal(r.status, 200, await r.clone().text());
  });

  test('needs approval, succeeds once approved, and the approval is spent by exactly that call', async () => {
    const asked = await needsApproval(80);
    // The agent polls: pending.
    const poll = (await (await fetch(asked.approval_uri)).json()) as { status: string; action: string };
    assert.deepEqual([poll.status, poll.action], ['pending', 'payments:pay']);
    await exchangeRefused(asked.approval_id, 'WARRANT_APPROVAL_REQUIRED');
    // Alice, the person at the root, approves with her own ID token.
    const approved = await decideAs(personToken('alice'), asked.approval_id, 'approve', { reason: 'ok' });
    assert.equal(approved.status, 200, await approved.clone().text());
    const view = (await approved.json()) as { status: string; decided_by: string; parameters: unknown };
    assert.equal(view.status, 'approved');
    assert.equal(view.decided_by, 'https://idp.warrant.test alice');
    // A decision is final.
    await expectCode(
      await decideAs(personToken('alice'), asked.approval_id, 'deny', { reason: 'changed my mind' }),
      409,
      'WARRANT_APPROVAL_DECIDED',
    );
    const exchanged = await exchangeFor(asked.approval_id);
    const apvWarrant = exchanged.access_token;
    const claims = claimsOf(apvWarrant) as {
      apv: Record<string, unknown>;
      exp: number;
      may_delegate: unknown;
    };
    assert.equal(claims.apv['id'], asked.approval_id);
    assert.equal(claims.apv['action'], 'payments:pay');
    assert.equal(claims.apv['approver'], 'https://idp.warrant.test alice');
    assert.ok(claims.exp <= nowSeconds() + 120, 'short-lived');
    assert.equal(claims.may_delegate, false);
    // Recorded by the STS as a hop of the chain: the subject warrant's child.
    const record = await h.sts.plane.store.tokens.get(hashOf(apvWarrant));
    assert.equal(record?.parentHash, hashOf(warrant));

    // Not for another amount: that call needs its own approval (and does not spend this one).
    await needsApproval(90, apvWarrant);
    // Not for another recipient account either.
    await needsApproval(80, apvWarrant, 'acct-2');
    // Exactly the approved call goes through, once.
    const from = h.decisions.records.length;
    const ok = await pay(80, apvWarrant);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(paid.at(-1), JSON.stringify({ amount: 80, to: 'acct-1' }));
    const [allowed] = decisionsSince(from);
    assert.equal(allowed?.decision, 'allow');
    assert.deepEqual(allowed.bound?.approval, { id: asked.approval_id, status: 'used' });
    // A second payment with the same approval is refused and recorded.
    const paidBefore = paid.length;
    const again = await pay(80, apvWarrant);
    await expectCode(again, 403, 'WARRANT_APPROVAL_USED');
    assert.equal(paid.length, paidBefore);
    assert.equal((await guard.approvals.get(asked.approval_id, nowSeconds()))?.status, 'used');
    // The history has every change.
    const history = await guard.store.changes.of('approval', asked.approval_id);
    assert.deepEqual(history.map((c) => c.detail['status']).reverse(), ['pending', 'approved', 'used']);
    // Exchanging again for a used approval is refused.
    await exchangeRefused(asked.approval_id, 'WARRANT_APPROVAL_USED');
  });

  test('an approved approval cannot be used after its window', async () => {
    const asked = await needsApproval(70);
    assert.equal(
      (await decideAs(personToken('alice'), asked.approval_id, 'approve', { reason: 'ok' })).status,
      200,
    );
    const apvWarrant = (await exchangeFor(asked.approval_id)).access_token;
    // The approval's window ends (its warrant still lives): the gateway refuses it.
    await guard.store.sql.run('UPDATE guard_approvals SET use_by = $1 WHERE id = $2', [
      nowSeconds() - 1,
      asked.approval_id,
    ]);
    await expectCode(await pay(70, apvWarrant), 403, 'WARRANT_APPROVAL_EXPIRED');
    await exchangeRefused(asked.approval_id, 'WARRANT_APPROVAL_EXPIRED');
  });

  test('a withdrawn approval is refused at the gateway', async () => {
    const asked = await needsApproval(60);
    assert.equal(
      (await decideAs(personToken('alice'), asked.approval_id, 'approve', { reason: 'ok' })).status,
      200,
    );
    const apvWarrant = (await exchangeFor(asked.approval_id)).access_token;
    const withdrawn = await h.sts.admin('POST', `/approvals/${asked.approval_id}/withdraw`, {
      reason: 'fraud suspected',
    });
    assert.equal(withdrawn.status, 200);
    await expectCode(await pay(60, apvWarrant), 403, 'WARRANT_APPROVAL_WITHDRAWN');
  });

  test('an approval expires unanswered', async () => {
    const asked = await needsApproval(50);
    await guard.store.sql.run('UPDATE guard_approvals SET expires = $1 WHERE id = $2', [
      nowSeconds() - 1,
      asked.approval_id,
    ]);
    const poll = (await (await fetch(asked.approval_uri)).json()) as { status: string };
    assert.equal(poll.status, 'expired');
    await expectCode(
      await decideAs(personToken('alice'), asked.approval_id, 'approve', { reason: 'late' }),
      409,
      'WARRANT_APPROVAL_EXPIRED',
    );
    await exchangeRefused(asked.approval_id, 'WARRANT_APPROVAL_EXPIRED');
  });

  test('a denied approval stays denied', async () => {
    const asked = await needsApproval(40);
    const denied = await decideAs(personToken('alice'), asked.approval_id, 'deny', { reason: 'no' });
    assert.equal(denied.status, 200);
    await expectCode(
      await decideAs(personToken('alice'), asked.approval_id, 'approve', { reason: 'yes after all' }),
      409,
      'WARRANT_APPROVAL_DECIDED',
    );
    await exchangeRefused(asked.approval_id, 'WARRANT_APPROVAL_DENIED');
    assert.equal((await guard.approvals.get(asked.approval_id, nowSeconds()))?.status, 'denied');
  });

  test('an approval addressed to one person cannot be decided by another, nor by an admin, nor by the agent owner', async () => {
    const asked = await needsApproval(30);
    await expectCode(
      await decideAs(personToken('bob'), asked.approval_id, 'approve', { reason: 'sure' }),
      403,
      'WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU',
    );
    // Bob does not see it either.
    const bobs = await fetch(`${h.sts.url}/approvals`, {
      headers: { authorization: `Bearer ${personToken('bob')}` },
    });
    assert.deepEqual(((await bobs.json()) as { approvals: unknown[] }).approvals, []);
    // An admin acts for groups, not for a person.
    await expectCode(
      await h.sts.admin('POST', `/approvals/${asked.approval_id}/approve`, { reason: 'admin' }),
      403,
      'WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU',
    );
    // Alice signed in as the owner of the requesting agent (alice@example.org registered it).
    await expectCode(
      await decideAs(personToken('alice', { email: 'alice@example.org' }), asked.approval_id, 'approve', {
        reason: 'mine',
      }),
      403,
      'WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU',
    );
    // Alice sees it among hers, still pending.
    const hers = await fetch(`${h.sts.url}/approvals?status=pending`, {
      headers: { authorization: `Bearer ${personToken('alice')}` },
    });
    const ids = ((await hers.json()) as { approvals: { id: string }[] }).approvals.map((a) => a.id);
    assert.ok(ids.includes(asked.approval_id));
  });

  test('bad input is refused with its code', async () => {
    const asked = await needsApproval(20);
    // No credential, a token for another audience, an admin token as a person's.
    await expectCode(
      await decideAs(undefined, asked.approval_id, 'approve', { reason: 'x' }),
      401,
      'WARRANT_APPROVER_AUTH_FAILED',
    );
    await expectCode(
      await decideAs(personToken('alice', { aud: 'someone-else' }), asked.approval_id, 'approve', {
        reason: 'x',
      }),
      401,
      'WARRANT_APPROVER_AUTH_FAILED',
    );
    // The ID token the agent was given to root its warrant (addressed to the agent's client id) cannot
    // approve the agent's own request.
    await expectCode(
      await decideAs(h.sts.idToken('alice', 'executor'), asked.approval_id, 'approve', { reason: 'x' }),
      401,
      'WARRANT_APPROVER_AUTH_FAILED',
    );
    await expectCode(
      await decideAs(ADMIN_TOKEN, asked.approval_id, 'approve', { reason: 'x' }),
      401,
      'WARRANT_APPROVER_AUTH_FAILED',
    );
    // An authentication older than the issuer allows.
    await expectCode(
      await decideAs(personToken('alice', { auth_time: nowSeconds() - 7200 }), asked.approval_id, 'approve', {
        reason: 'x',
      }),
      401,
      'WARRANT_APPROVER_AUTH_FAILED',
    );
    // Malformed decisions.
    for (const body of [
      {},
      { reason: '' },
      { reason: 'x', extra: 1 },
      { reason: 'x', narrow: { windowSeconds: 0 } },
    ]) {
      await expectCode(
        await decideAs(personToken('alice'), asked.approval_id, 'approve', body),
        400,
        'WARRANT_REQUEST_MALFORMED',
      );
    }
    // Unknown approvals.
    await expectCode(
      await decideAs(personToken('alice'), '00000000-0000-0000-0000-000000000000', 'approve', {
        reason: 'x',
      }),
      404,
      'WARRANT_APPROVAL_NOT_FOUND',
    );
    await expectCode(await fetch(`${h.sts.url}/approvals/not%20an%20id`), 404, 'WARRANT_APPROVAL_NOT_FOUND');
    await exchangeRefused('00000000-0000-0000-0000-000000000000', 'WARRANT_APPROVAL_NOT_FOUND');
    // Admin endpoints need the admin credential.
    const anonymous = await fetch(`${h.sts.url}/admin/approvals`);
    assert.equal(anonymous.status, 401);
    const listed = await h.sts.admin('GET', '/approvals?status=pending');
    assert.equal(listed.status, 200);
    await expectCode(await h.sts.admin('GET', '/approvals?status=nope'), 400, 'WARRANT_REQUEST_MALFORMED');
    // Still pending after all that.
    assert.equal((await guard.approvals.get(asked.approval_id, nowSeconds()))?.status, 'pending');
  });

  test('an approval narrowed to a lower amount lets through one payment within it', async () => {
    const asked = await needsApproval(300);
    const approved = await decideAs(personToken('alice'), asked.approval_id, 'approve', {
      reason: 'at most 200',
      narrow: { constraints: { max_amount: 200 }, windowSeconds: 60 },
    });
    assert.equal(approved.status, 200, await approved.clone().text());
    const apvWarrant = (await exchangeFor(asked.approval_id)).access_token;
    const grants = claimsOf(apvWarrant)['grants'] as { constraints?: { max_amount?: number } }[];
    assert.equal(grants[0]?.constraints?.max_amount, 200);
    // 300 exceeds what was approved: the warrant's own grant refuses it.
    await expectCode(await pay(300, apvWarrant), 403, 'WARRANT_CONSTRAINT_EXCEEDED');
    const ok = await pay(200, apvWarrant);
    assert.equal(ok.status, 200, await ok.clone().text());
    await expectCode(await pay(150, apvWarrant), 403, 'WARRANT_APPROVAL_USED');
  });
});

function hashOf(token: string): string {
  return createHash('sha256').update(token, 'latin1').digest('base64url');
}
