/**
 * `warrant dev login <person> --agent <agent>`: a person's assertion from the dev identity provider,
 * addressed to one agent, that the agent exchanges for its root warrant — and refused wherever the dev
 * provider is off, for another agent, a second time, or with bad input.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AgentClient, TOKEN_TYPES } from '../src/sdk/agent-client.ts';
import { warrantAt } from './support/cli.ts';
import { ADMIN_TOKEN, agentIdOf, type Harness, startHarness } from './support/sts-harness.ts';

/** `warrant …` in this process against `h`, with the admin token (or `token`, or none). */
const warrant = (h: Harness, args: readonly string[], token: string | undefined = ADMIN_TOKEN) =>
  warrantAt(h.url, args, token);

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

const GRANTS = [{ action: 'crm:read', resource: 'crm/*', constraints: { max_rows: 100 } }];

describe('warrant dev login (the dev identity provider on)', () => {
  let h: Harness;
  let planner: AgentClient;
  let executor: AgentClient;
  before(async () => {
    h = await startHarness({ overrides: { sts: { devUserIssuer: { enabled: true } } } });
    planner = await h.agent('planner');
    executor = await h.agent('executor', {
      allowedAudiences: ['https://tools.warrant.test/*', 'spiffe://warrant.test/*'],
    });
  });
  after(async () => h?.close());

  test('prints an ID-JAG for the agent, which it exchanges for a root warrant on the person’s behalf', async () => {
    const r = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'planner']);
    assert.equal(r.code, 0, r.stderr);
    const jag = r.stdout.trim();
    const header = JSON.parse(Buffer.from(jag.split('.')[0]!, 'base64url').toString('utf8'));
    assert.equal(header.typ, 'oauth-id-jag+jwt');
    const c = claimsOf(jag);
    assert.equal(c['sub'], 'alice@example.org');
    assert.equal(c['aud'], h.url);
    assert.equal(c['client_id'], agentIdOf('planner'));
    assert.equal(c['iss'], `${h.url}/dev-idp`);

    const root = await planner.exchange({
      subjectToken: jag,
      subjectTokenType: TOKEN_TYPES.idJag,
      audience: agentIdOf('executor'),
      grants: GRANTS,
      task: 'dev login',
    });
    const w = claimsOf(root.access_token);
    assert.equal(w['sub'], 'alice@example.org');
    assert.equal(w['sub_iss'], `${h.url}/dev-idp`);

    // Single use: the same ID-JAG a second time is refused.
    await assert.rejects(
      planner.exchange({
        subjectToken: jag,
        subjectTokenType: TOKEN_TYPES.idJag,
        audience: agentIdOf('executor'),
        grants: GRANTS,
      }),
      (e: { code?: string; status?: number }) => e.status === 400 && /REPLAY/.test(e.code ?? ''),
    );
  });

  test('an ID-JAG made for one agent is refused to another', async () => {
    const r = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'planner']);
    assert.equal(r.code, 0, r.stderr);
    await assert.rejects(
      executor.exchange({
        subjectToken: r.stdout.trim(),
        subjectTokenType: TOKEN_TYPES.idJag,
        audience: 'https://tools.warrant.test/crm',
        scope: 'crm:read',
      }),
      (e: { code?: string }) => e.code === 'WARRANT_ASSERTION_NOT_FOR_AGENT',
    );
  });

  test('--json says what was printed: form, type, issuer, lifetime', async () => {
    const r = await warrant(h, [
      'dev',
      'login',
      'bob@example.org',
      '--agent',
      agentIdOf('planner'),
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(answer['form'], 'id-jag');
    assert.equal(answer['subject_token_type'], TOKEN_TYPES.idJag);
    assert.equal(answer['agent'], agentIdOf('planner'));
    assert.equal(answer['issuer'], `${h.url}/dev-idp`);
    assert.equal(answer['expires_in'], 300);
  });

  test('--id-token prints an ID token addressed to the agent’s client id there, which it exchanges', async () => {
    const reporter = await h.agent('reporter', { clientIds: { [`${h.url}/dev-idp`]: 'reporter-at-dev' } });
    const r = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'reporter', '--id-token']);
    assert.equal(r.code, 0, r.stderr);
    const idToken = r.stdout.trim();
    assert.equal(claimsOf(idToken)['aud'], 'reporter-at-dev');
    const root = await reporter.exchange({
      subjectToken: idToken,
      subjectTokenType: TOKEN_TYPES.idToken,
      audience: agentIdOf('executor'),
      grants: GRANTS,
    });
    assert.equal(claimsOf(root.access_token)['sub'], 'alice@example.org');
  });

  test('--id-token for an agent without a client id at the dev provider is refused with its code', async () => {
    const r = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'planner', '--id-token']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /WARRANT_AGENT_CLIENT_ID_MISSING/);
    assert.equal(r.stdout, '');
  });

  test('refused: an unknown agent, a bad person, a bad agent name, no admin credential, no --agent', async () => {
    const unknown = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'nobody']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /WARRANT_AGENT_UNKNOWN/);
    const person = await warrant(h, ['dev', 'login', ' alice<script>\u0007', '--agent', 'planner']);
    assert.equal(person.code, 1);
    assert.match(person.stderr, /WARRANT_REQUEST_MALFORMED/);
    const name = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'Planner!']);
    assert.equal(name.code, 1);
    assert.match(name.stderr, /WARRANT_REQUEST_MALFORMED/);
    const anonymous = await fetch(`${h.url}/admin/dev/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ person: 'alice@example.org', agent: 'planner' }),
    });
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(await anonymous.text(), /eyJ/);
    const wrong = await warrant(
      h,
      ['dev', 'login', 'alice@example.org', '--agent', 'planner'],
      'not-the-token',
    );
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stdout, '');
    const usage = await warrant(h, ['dev', 'login', 'alice@example.org']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--agent/);
  });

  test('a disabled agent gets nothing', async () => {
    await h.agent('idle');
    const disabled = await warrant(h, ['agent', 'disable', 'idle']);
    assert.equal(disabled.code, 0, disabled.stderr);
    const r = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'idle']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /WARRANT_AGENT_DISABLED/);
  });
});

describe('warrant dev login (the dev identity provider off, as under warrant serve)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.agent('planner');
  });
  after(async () => h?.close());

  test('is refused: the endpoint does not exist and nothing is minted', async () => {
    const r = await warrant(h, ['dev', 'login', 'alice@example.org', '--agent', 'planner']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /WARRANT_NOT_FOUND/);
    assert.match(r.stderr, /dev identity provider is off/);
    assert.equal(r.stdout, '');
    const discovery = await fetch(`${h.url}/dev-idp/.well-known/openid-configuration`);
    assert.equal(discovery.status, 404);
  });
});
