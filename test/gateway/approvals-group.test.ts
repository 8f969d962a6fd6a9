/**
 * Approvals addressed to a group (`guard.approvals.group`), decided by an admin acting for it — through the
 * `warrant approvals` commands, run as child processes against a real STS and gateway: list, show, approve
 * with a narrowing, deny; and the person at the root may not decide a group's approval.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { ADMIN_TOKEN, agentIdOf, PERSON_AUDIENCE } from '../support/sts-harness.ts';
import { claimsOf, hop, rootWarrant, TOKEN_TYPES, TOOLS, Upstreams, WIDE } from './rejections-support.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warrant-approvals-'));
const PAY = `${TOOLS}/pay`;
const up = new Upstreams();
let h: GatewayHarness;
let executor: AgentClient;
let warrant: string;

before(async () => {
  h = await startGatewayHarness({
    sharedGuard: true,
    sts: { overrides: { guard: { approvals: { group: 'finance' } } } },
    upstreams: { pay: up.handler('pay') },
    routes: (u) => [{ match: { pathPrefix: '/pay' }, upstream: u['pay']!, audience: PAY, protocol: 'http' }],
    catalog: [
      {
        name: 'payments:pay',
        match: { protocol: 'http', method: 'POST', path: '/pay/payments' },
        impact: 'critical',
        dataClass: 'internal',
        reversibility: 'irreversible',
        blastRadius: 1,
        parameters: { amount: { in: 'body', pointer: '/amount' } },
      },
    ],
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'payments:*', resource: `${TOOLS}/*`, constraints: { max_amount: 1000 } },
  ]);
  warrant = await hop(executor, root, PAY);
});

after(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

function warrantCli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('WARRANT_') && v !== undefined) env[k] = v;
  env['WARRANT_URL'] = h.sts.url;
  env['WARRANT_ADMIN_TOKEN'] = ADMIN_TOKEN;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      assert.ok(
        !stdout.includes(ADMIN_TOKEN) && !stderr.includes(ADMIN_TOKEN),
        'the admin token was printed',
      );
      resolve({ code, stdout, stderr });
    });
  });
}

async function ask(amount: number): Promise<string> {
  const r = await h.call(executor, warrant, '/pay/payments', {
    method: 'POST',
    body: JSON.stringify({ amount }),
  });
  assert.equal(r.status, 403);
  const body = (await r.json()) as { code: string; approval_id: string };
  assert.equal(body.code, 'WARRANT_APPROVAL_REQUIRED');
  return body.approval_id;
}

test('an admin acting for the group lists, shows and approves with the CLI; the call then goes through once', async () => {
  const id = await ask(700);
  const listed = await warrantCli(['approvals', 'list', '--status', 'pending', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const approvals = JSON.parse(listed.stdout) as { id: string; addressed_to: string }[];
  assert.deepEqual(
    approvals.map((a) => [a.id, a.addressed_to]),
    [[id, 'group:finance']],
  );
  const shown = await warrantCli(['approvals', 'show', id]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /status {5}pending/);
  assert.match(shown.stdout, /action {5}payments:pay on https:\/\/tools\.warrant\.test\/pay/);
  assert.match(shown.stdout, /"amount":700/);
  // The person at the root cannot decide a group's approval.
  const asPerson = await fetch(`${h.sts.url}/approvals/${id}/approve`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${h.sts.idToken('alice', 'executor', { aud: PERSON_AUDIENCE })}`,
    },
    body: JSON.stringify({ reason: 'mine' }),
  });
  assert.equal(asPerson.status, 403);
  assert.equal(((await asPerson.json()) as { code: string }).code, 'WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU');
  // Usage errors never reach the STS.
  const noReason = await warrantCli(['approvals', 'approve', id]);
  assert.equal(noReason.code, 2);
  assert.match(noReason.stderr, /--reason is required/);
  const badMax = await warrantCli(['approvals', 'approve', id, '--reason', 'x', '--max', 'amount=lots']);
  assert.equal(badMax.code, 2);
  // Approved for less than asked: at most 500, within 60 s.
  const approved = await warrantCli([
    'approvals',
    'approve',
    id,
    '--reason',
    'invoice checked, up to 500',
    '--max',
    'amount=500',
    '--window',
    '60',
  ]);
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, /^approved /);
  const again = await warrantCli(['approvals', 'deny', id, '--reason', 'too late']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /WARRANT_APPROVAL_DECIDED/);
  const exchanged = await executor.exchange({
    subjectToken: warrant,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: PAY,
    extra: { approval_id: id },
  });
  const apvWarrant = exchanged.access_token;
  assert.equal((claimsOf(apvWarrant)['apv'] as { approver: string }).approver, 'admin for group:finance');
  const before = up.hits['pay']!;
  const ok = await h.call(executor, apvWarrant, '/pay/payments', {
    method: 'POST',
    body: JSON.stringify({ amount: 450 }),
  });
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal(up.hits['pay'], before + 1);
});

test('an admin denies with the CLI; a denied approval stays denied', async () => {
  const id = await ask(900);
  const denied = await warrantCli(['approvals', 'deny', id, '--reason', 'unknown supplier', '--json']);
  assert.equal(denied.code, 0, denied.stderr);
  assert.equal((JSON.parse(denied.stdout) as { status: string }).status, 'denied');
  const again = await warrantCli(['approvals', 'approve', id, '--reason', 'after all']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /WARRANT_APPROVAL_DECIDED/);
  const unknown = await warrantCli(['approvals', 'show', '00000000-0000-0000-0000-000000000000']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /WARRANT_APPROVAL_NOT_FOUND/);
});
