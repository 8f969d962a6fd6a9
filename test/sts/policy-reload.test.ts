/**
 * Delegation policy reload (DESIGN §4 "revoke by policy change", §5): `POST /admin/policy/reload` reads the
 * policy files again, validates them against the schema, and revokes the live warrants the new policy would
 * no longer issue. An invalid file changes nothing.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { type Harness, startHarness } from '../support/sts-harness.ts';

const REPO = new URL('../../', import.meta.url);
const ORIGINAL = readFileSync(new URL('policies/delegation.cedar', REPO), 'utf8');

/** Agents may no longer hand `crm:read` onward; a person may still hand it to the first agent. */
const FORBID_CRM_HOPS = `${ORIGINAL}
@id("no-crm-read-between-agents")
forbid (
  principal is Warrant::Agent,
  action == Warrant::Action::"delegate",
  resource
)
when { context.grantAction == "crm:read" };
`;

interface ReloadResult {
  version: string;
  previous: string;
  revoked: number;
}

describe('delegation policy reload', () => {
  let dir: string;
  let policyFile: string;
  let h: Harness;
  let planner: AgentClient;
  let b: AgentClient;
  let c: AgentClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warrant-policy-'));
    policyFile = join(dir, 'delegation.cedar');
    const schemaFile = join(dir, 'schema.cedarschema');
    writeFileSync(policyFile, ORIGINAL);
    copyFileSync(new URL('policies/schema.cedarschema', REPO), schemaFile);
    h = await startHarness({ overrides: { policy: { delegation: policyFile, schema: schemaFile } } });
    planner = await h.agent('planner');
    b = await h.agent('agent-b');
    c = await h.agent('agent-c');
  });
  after(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const root = async (action: string) =>
    (
      await planner.exchange({
        subjectToken: h.idToken('alice', planner),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: b.agentId,
        grants: [{ action, resource: '*' }],
      })
    ).access_token;
  const hop = async (parent: string) =>
    (await b.exchange({ subjectToken: parent, subjectTokenType: TOKEN_TYPES.warrant, audience: c.agentId }))
      .access_token;
  const active = async (client: AgentClient, token: string): Promise<boolean> => {
    const response = await client.post('/introspect', { token });
    assert.equal(response.status, 200);
    return ((await response.json()) as { active: boolean }).active;
  };
  const reload = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await h.admin('POST', '/policy/reload');
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const denied = (error: { code?: string }) => {
    assert.equal(error.code, 'WARRANT_DELEGATION_DENIED');
    return true;
  };

  test('the configured policy files are in force', () => {
    assert.match(h.plane.sts.policy.version, /^sha256:[0-9a-f]{64}$/);
  });

  test('a policy change revokes exactly the live warrants it no longer permits', async () => {
    const crmRoot = await root('crm:read');
    const crmHop = await hop(crmRoot);
    const mailRoot = await root('mail:send');
    const mailHop = await hop(mailRoot);
    const before = h.plane.sts.policy.version;

    // Unchanged files: same version, nothing revoked.
    const same = await reload();
    assert.equal(same.status, 200);
    assert.deepEqual(same.body, { version: before, previous: before, revoked: 0 });

    writeFileSync(policyFile, FORBID_CRM_HOPS);
    const changed = await reload();
    assert.equal(changed.status, 200);
    const result = changed.body as unknown as ReloadResult;
    assert.equal(result.previous, before);
    assert.notEqual(result.version, before);
    assert.match(result.version, /^sha256:[0-9a-f]{64}$/);
    assert.equal(h.plane.sts.policy.version, result.version);
    assert.ok(result.revoked >= 1);
    assert.equal(result.revoked, 1, 'only the agent-to-agent crm:read hop');

    assert.equal(await active(c, crmHop), false, 'the warrant the new policy forbids is inactive');
    const record = await h.plane.store.tokens.get(tokenHash(crmHop));
    assert.equal(record?.revokeReason, `policy changed to ${result.version}`);
    assert.equal(await active(planner, crmRoot), true, 'its parent (person → agent) is still permitted');
    assert.equal(await active(c, mailHop), true, 'an unaffected warrant stays active');
    assert.equal(await active(planner, mailRoot), true);

    // The new policy decides new exchanges too.
    await assert.rejects(hop(crmRoot), denied);
    assert.ok(await hop(mailRoot));
  });

  test('an invalid policy file is refused (400 WARRANT_POLICY_INVALID) and the old policy stays in force', async () => {
    const version = h.plane.sts.policy.version;
    const mailRoot = await root('mail:send');
    const crmRoot = await root('crm:read');
    const invalid = [
      `${FORBID_CRM_HOPS}\npermit (principal, action, resource) when { context.`, // syntax error
      `${FORBID_CRM_HOPS}\npermit (principal, action == Warrant::Action::"delegate", resource) when { context.nope == 1 };`, // not in the schema
    ];
    for (const text of invalid) {
      writeFileSync(policyFile, text);
      const refused = await reload();
      assert.equal(refused.status, 400);
      assert.equal(refused.body['code'], 'WARRANT_POLICY_INVALID');
      assert.equal(refused.body['error'], 'invalid_request');
      assert.equal(h.plane.sts.policy.version, version, 'version unchanged');
    }
    // Exchanges still work under the old (last valid) policy, which still forbids crm:read hops.
    const mailHop = await hop(mailRoot);
    assert.equal(await active(c, mailHop), true);
    await assert.rejects(hop(crmRoot), denied);
    assert.equal(await active(planner, crmRoot), true);

    // Fixing the file restores reloads.
    writeFileSync(policyFile, ORIGINAL);
    const fixed = await reload();
    assert.equal(fixed.status, 200);
    assert.equal((fixed.body as unknown as ReloadResult).previous, version);
    assert.equal((fixed.body as unknown as ReloadResult).revoked, 0);
    assert.ok(await hop(crmRoot));
  });
});
