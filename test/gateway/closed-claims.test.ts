/**
 * A warrant's claim set is closed (DESIGN §3): a warrant correctly signed by the STS key but carrying a
 * top-level claim the warrant kind does not define, or carrying no `status` (so it could never be revoked
 * and would escape the fail-closed-when-stale rule), is refused at the gateway with 401 and its own code —
 * alone or as a link of a presented chain — and nothing is recorded or forwarded.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { CRM_CONTACTS_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  claimsOf,
  expectNoRecord,
  expectRefusal,
  hop,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const up = new Upstreams();
let h: GatewayHarness;
let planner: AgentClient;
let executor: AgentClient;
let root: string;
let leaf: string;

before(async () => {
  h = await startGatewayHarness({
    upstreams: { crm: up.handler('crm') },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [CRM_CONTACTS_READ],
  });
  planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  root = await rootWarrant(h, planner, agentIdOf('executor'), [{ action: 'crm:*', resource: `${TOOLS}/*` }]);
  leaf = await hop(executor, root, CRM);
});

after(() => h.close());

/** The claims of `token`, changed by `edit`, signed with the STS's own current key (a valid signature). */
function resigned(token: string, edit: (c: Record<string, unknown>) => Record<string, unknown>): string {
  return signCompact({ typ: 'warrant+jwt' }, edit(claimsOf(token)), h.sts.plane.sts.keys.current);
}

async function refusedUnforwarded(token: string, code: string, chain?: string[]): Promise<void> {
  const hits = up.total;
  const from = h.decisions.records.length;
  const r = await h.call(executor, token, '/crm/contacts/42', chain ? { chain } : {});
  await expectRefusal(r, { status: 401, error: 'invalid_token', code, secrets: [token] });
  await sleep(20);
  assert.equal(up.total, hits, 'the upstream received nothing');
  expectNoRecord(h, from);
}

test('the STS-issued warrant is accepted (the fixture is sound) and carries status', async () => {
  assert.ok(claimsOf(leaf)['status'], 'the STS always sets status');
  const r = await h.call(executor, leaf, '/crm/contacts/42');
  assert.equal(r.status, 200, await r.text());
});

test('a signed warrant with an unknown top-level claim: 401 WARRANT_CLAIM_UNKNOWN, not forwarded', async () => {
  for (const extra of [{ role: 'admin' }, { trusted: true }, { grants_extra: [{ action: '*' }] }]) {
    await refusedUnforwarded(
      resigned(leaf, (c) => ({ ...c, ...extra, jti: `${c['jti']}-x` })),
      'WARRANT_CLAIM_UNKNOWN',
    );
  }
});

test('a signed warrant without status: 401 WARRANT_STATUS_MISSING, not forwarded', async () => {
  await refusedUnforwarded(
    resigned(leaf, ({ status: _, ...c }) => ({ ...c, jti: `${c['jti']}-nostatus` })),
    'WARRANT_STATUS_MISSING',
  );
});

test('a chain whose root lacks status (relinked so every hash matches) is refused too', async () => {
  const badRoot = resigned(root, ({ status: _, ...c }) => c);
  const relinked = resigned(leaf, (c) => ({ ...c, prev: tokenHash(badRoot), root: tokenHash(badRoot) }));
  await refusedUnforwarded(relinked, 'WARRANT_STATUS_MISSING', [badRoot, relinked]);
});
