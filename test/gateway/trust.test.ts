/**
 * Progressive trust, the sandbox and the autonomy statement end to end (DESIGN §6): a real STS (control
 * plane with its admin API), a real gateway replica (data plane) with its Merkle ledger in a temporary
 * data directory, a production upstream and a sandbox upstream that count what reaches them, and one guard
 * runtime shared by both planes (as `warrant dev` runs them) whose clock the test moves forward — the
 * tokens, proofs and the gateway keep the real clock.
 *
 * A new agent is held to low-risk actions and its writes go to the sandbox; after its clean record it is
 * promoted and reaches production; repeated denials demote it; an operator pins it through the admin API
 * (401 without the admin credential); every autonomy statement version is in the ledger, which verifies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Grant } from '../../src/core/grants/index.ts';
import type { AutonomyStatement } from '../../src/guard/autonomy/statement.ts';
import type { CatalogAction } from '../../src/guard/catalog.ts';
import { type GuardRuntime, openGuardRuntime } from '../../src/guard/runtime.ts';
import type { TrustView } from '../../src/guard/trust/trust-levels.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import { type DataPlane, startDataPlane } from '../../src/runtime/data-plane.ts';
import { singleWriterOf } from '../../src/runtime/ledger-role.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { warrantInProcess } from '../support/cli.ts';
import { listen } from '../support/gateway-harness.ts';
import { type Harness, startHarness } from '../support/sts-harness.ts';
import { nowSeconds, sleep, Upstreams } from './rejections-support.ts';

const CRM = 'https://tools.warrant.test/crm';
const TRUST = {
  levels: 2,
  promotion: { calls: 3, minSeconds: 600 },
  demotion: { denials: 2, failures: 5, windowSeconds: 3600 },
  flushMs: 10,
};

const action = (name: string, method: string, facts: Partial<CatalogAction>): CatalogAction => ({
  name,
  match: { protocol: 'http', method, path: '/crm/records*' },
  dataClass: 'internal',
  blastRadius: 1,
  impact: 'low',
  reversibility: 'reversible',
  ...facts,
});

const dir = mkdtempSync(join(tmpdir(), 'warrant-trust-'));
const upstreams = new Upstreams();
const servers: { close(cb: () => void): void; closeAllConnections(): void }[] = [];
let sts: Harness;
let guard: GuardRuntime;
let plane: DataPlane | undefined;
let gatewayUrl: string;
let agent: AgentClient;
let warrant: string;
let sandboxOrigin: string;
/** Seconds the guard's clock is ahead of the real one. */
let ahead = 0;

before(async () => {
  const prod = await listen(upstreams.handler('prod'));
  const sandbox = await listen(upstreams.handler('sandbox'));
  servers.push(prod.server, sandbox.server);
  sandboxOrigin = sandbox.url;
  const catalogFile = join(dir, 'catalog.json');
  const catalog: CatalogAction[] = [
    action('crm:read', 'GET', {}),
    // Risk 30 at level 0: allowed, but a new agent's writes go to the sandbox.
    action('crm:write', 'POST', {
      impact: 'medium',
      reversibility: 'compensable',
      sandbox: { upstream: `${sandbox.url}/api`, belowTrustLevel: 1 },
    }),
    // Risk 40 at level 0 (the default policy allows below 40), 37 at level 1.
    action('crm:export', 'PUT', { impact: 'medium', reversibility: 'irreversible', blastRadius: 2 }),
    // Risk 65: above every default bound, so it needs a person's approval (approval_required, no denial).
    action('crm:purge', 'DELETE', { impact: 'high', reversibility: 'irreversible' }),
  ];
  writeFileSync(catalogFile, JSON.stringify({ actions: catalog }));
  const config = loadConfig(undefined, {
    trustDomain: 'warrant.test',
    dataDir: join(dir, 'gateway'),
    guard: { catalog: catalogFile, trust: TRUST },
    gateway: {
      listen: { host: '127.0.0.1', port: 0 },
      routes: [
        {
          match: { pathPrefix: '/crm' },
          upstream: `${prod.url}/api`,
          audience: CRM,
          protocol: 'http',
          signedBodies: false,
        },
      ],
    },
  });
  guard = await openGuardRuntime(config, { clock: () => nowSeconds() + ahead, pollMs: 0 });
  sts = await startHarness({ guard });
  plane = await startDataPlane(
    { ...config, gateway: { ...config.gateway, issuer: sts.plane.sts.issuer } },
    { guard, keys: () => sts.plane.sts.keys.keySet(nowSeconds()).resolve },
  );
  gatewayUrl = plane.url;
  agent = await sts.agent('newcomer', { allowedAudiences: [CRM] });
  const grants: Grant[] = [{ action: 'crm:*', resource: CRM }];
  const r = await agent.exchange({
    subjectToken: sts.idToken('alice', agent),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: CRM,
    grants,
  });
  warrant = r.access_token;
});

after(async () => {
  await plane?.close();
  await sts?.close();
  await guard?.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(r));
  }
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path = '/crm/records'): Promise<number> {
  const url = `${gatewayUrl}${path}`;
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `DPoP ${warrant}`,
      dpop: agent.dpopProof(method, url, warrant),
      ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }),
    },
    ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{"name":"x"}' }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** The ledger's records of the agent (decisions and autonomy statements), oldest first. */
async function ledgerRecords(): Promise<DecisionRecord[]> {
  const page = await singleWriterOf(plane!.ledger).ledger.query({ caller: agent.agentId, limit: 1000 });
  return page.items.map((r) => r.record);
}

/** The autonomy records of the agent once `count` are in the ledger (written after the change; bounded wait). */
async function autonomyRecords(count: number): Promise<DecisionRecord[]> {
  for (let i = 0; i < 200; i++) {
    const found = (await ledgerRecords()).filter((r) => r.kind === 'autonomy');
    if (found.length >= count) return found;
    await sleep(10);
  }
  assert.fail(`fewer than ${count} autonomy records in the ledger`);
}

async function standing(): Promise<TrustView> {
  const response = await sts.admin('GET', `/agents/newcomer/trust`);
  assert.equal(response.status, 200);
  return (await response.json()) as TrustView;
}

const names = (actions: readonly { action: string }[]) => actions.map((a) => a.action);

describe('progressive trust, sandbox and autonomy statement (STS + gateway + ledger)', () => {
  test('a new agent is held to low-risk actions and its writes go to the sandbox upstream', async () => {
    assert.equal(guard.trust.level(agent.agentId), 0);
    assert.equal(await call('PUT'), 403, 'risk 40 at level 0 is refused');
    assert.equal(await call('GET'), 200);
    assert.equal(upstreams.hits['prod'], 1, 'reads go to production');
    assert.equal(await call('POST'), 200);
    assert.equal(upstreams.hits['sandbox'], 1, 'the write reached the sandbox');
    assert.equal(upstreams.hits['prod'], 1, 'and not production');
    const decisions = (await ledgerRecords()).filter((r) => r.kind === 'decision');
    const write = decisions.find((r) => r.action === 'crm:write')!;
    assert.equal(write.sandboxed, true);
    assert.equal(write.sandbox, sandboxOrigin);
    assert.equal(write.trustLevel, 0);
    assert.equal(
      decisions.find((r) => r.action === 'crm:read')!.sandboxed,
      undefined,
      'a read is not sandboxed',
    );
    await guard.trust.flush();
    const [first] = await autonomyRecords(1);
    const statement = first!.autonomy!.statement as AutonomyStatement;
    assert.equal(statement.trustLevel, 0);
    assert.deepEqual(names(statement.mayDoAlone), ['crm:read', 'crm:write']);
    assert.equal(statement.mayDoAlone[1]!.sandbox, sandboxOrigin);
    assert.deepEqual(names(statement.mustAskFirst), ['crm:export', 'crm:purge']);
  });

  test('after its clean record (calls and time) it is promoted and reaches production', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await call('POST'), 200);
    await guard.trust.flush();
    assert.equal(guard.trust.level(agent.agentId), 0, 'enough calls, but not long enough at level 0');
    ahead += 600;
    assert.equal(await call('POST'), 200);
    await guard.trust.flush();
    assert.equal(guard.trust.level(agent.agentId), 1);
    const view = await standing();
    assert.equal(view.level, 1);
    assert.match(view.history[0]!.reason, /^promoted after 6 clean calls over 6\d\d s$/);
    assert.equal(upstreams.hits['sandbox'], 5);
    const prodBefore = upstreams.hits['prod']!;
    assert.equal(await call('POST'), 200);
    assert.equal(upstreams.hits['sandbox'], 5, 'no longer sandboxed');
    assert.equal(upstreams.hits['prod'], prodBefore + 1, 'the write reached production');
    assert.equal(await call('PUT'), 200, 'risk 37 at level 1 is allowed');
    const decisions = (await ledgerRecords()).filter((r) => r.kind === 'decision');
    assert.equal(decisions.at(-2)!.sandboxed, undefined);
    assert.equal(decisions.at(-2)!.trustLevel, 1);
  });

  test('the autonomy statement changed with the level, and both versions are in the ledger', async () => {
    const [v1, v2] = await autonomyRecords(2);
    assert.notEqual(v1!.autonomy!.digest, v2!.autonomy!.digest);
    const second = v2!.autonomy!.statement as AutonomyStatement;
    assert.equal(second.trustLevel, 1);
    assert.deepEqual(names(second.mayDoAlone), ['crm:read', 'crm:write', 'crm:export']);
    assert.equal(second.mayDoAlone[1]!.sandbox, undefined);
    const served = await sts.admin('GET', '/agents/newcomer/autonomy');
    assert.equal(served.status, 200);
    const body = (await served.json()) as { digest: string; statement: AutonomyStatement };
    assert.equal(body.digest, v2!.autonomy!.digest, 'the API serves the version the ledger holds');
  });

  test('repeated denials demote it, and its writes go back to the sandbox', async () => {
    // PATCH is no catalog action: a denial (a call needing a person, like DELETE, is not one).
    assert.equal(await call('PATCH'), 403);
    assert.equal(await call('PATCH'), 403);
    await guard.trust.flush();
    assert.equal(guard.trust.level(agent.agentId), 0);
    assert.match((await standing()).history[0]!.reason, /^demoted after 2 denials within 3600 s$/);
    const sandboxBefore = upstreams.hits['sandbox']!;
    assert.equal(await call('POST'), 200);
    assert.equal(upstreams.hits['sandbox'], sandboxBefore + 1);
    await autonomyRecords(3);
  });

  test('an operator pins a level through the admin API; without the admin credential: 401', async () => {
    const body = JSON.stringify({ level: 2, reason: 'vetted by the CRM team' });
    const anonymous = await fetch(`${sts.url}/admin/agents/newcomer/trust`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-the-admin-token' },
      body,
    });
    assert.equal(anonymous.status, 401);
    const none = await fetch(`${sts.url}/admin/agents/newcomer/trust`);
    assert.equal(none.status, 401);
    assert.equal(guard.trust.level(agent.agentId), 0, 'nothing changed');
    const tooHigh = await sts.admin('POST', '/agents/newcomer/trust', { level: 3, reason: 'x' });
    assert.equal(tooHigh.status, 400);
    const noReason = await sts.admin('POST', '/agents/newcomer/trust', { level: 1 });
    assert.equal(noReason.status, 400);
    const pinned = await sts.admin('POST', '/agents/newcomer/trust', JSON.parse(body));
    assert.equal(pinned.status, 200);
    const answer = (await pinned.json()) as { changed: boolean; trust: TrustView };
    assert.equal(answer.changed, true);
    assert.deepEqual([answer.trust.level, answer.trust.pinned], [2, true]);
    assert.match(
      answer.trust.history[0]!.reason,
      /^set to level 2 and pinned by an operator: vetted by the CRM team$/,
    );
    assert.equal(answer.trust.history[0]!.actor, 'admin');
    assert.equal(guard.trust.level(agent.agentId), 2, 'the gateway reads the pinned level');
    // Denials do not move a pinned level.
    assert.equal(await call('PATCH'), 403);
    assert.equal(await call('PATCH'), 403);
    await guard.trust.flush();
    assert.equal(guard.trust.level(agent.agentId), 2);
    const statements = await autonomyRecords(4);
    assert.equal((statements.at(-1)!.autonomy!.statement as AutonomyStatement).pinned, true);
  });

  test('the ledger with its autonomy records verifies with `warrant audit verify`', async () => {
    const data = join(dir, 'gateway');
    await plane!.close();
    plane = undefined;
    const out = join(dir, 'export.jsonl');
    const exported = await cli(['audit', 'export', '--data', data, '--out', out]);
    assert.equal(exported.code, 0, exported.stderr);
    const key = await cli(['audit', 'key', '--data', data]);
    assert.equal(key.code, 0, key.stderr);
    const verified = await cli(['audit', 'verify', out, '--key', key.stdout.trim()]);
    assert.equal(verified.code, 0, verified.stderr);
    const query = await cli(['audit', 'query', '--data', data, '--agent', agent.agentId, '--limit', '1000']);
    assert.match(
      query.stdout,
      /autonomy statement of spiffe:\/\/warrant\.test\/agent\/newcomer at trust level 2/,
    );
  });
});

const cli = (args: readonly string[]) => warrantInProcess(args);
