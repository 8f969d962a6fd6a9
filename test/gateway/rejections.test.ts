/**
 * Gateway refusals, authentication (DESIGN §3, §4, §7): credentials, DPoP proofs, warrants and chains that
 * the gateway must refuse with 401 (RFC 6750 / RFC 9449 `WWW-Authenticate`) and a stable code, leaking
 * nothing, recording nothing and forwarding nothing to the upstream.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDpopProof } from '../../src/core/dpop/index.ts';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { type StatusRef, signToken, type WarrantClaims } from '../../src/core/tokens/index.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { CRM_CONTACTS_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  claimsOf,
  expectNoRecord,
  expectRefusal,
  hop,
  nowSeconds,
  raw,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const MAIL = `${TOOLS}/mail`;
const GRANTS = [
  { action: 'crm:*', resource: `${TOOLS}/*` },
  { action: 'mail:*', resource: `${TOOLS}/*` },
  { action: 'agent:*', resource: 'spiffe://warrant.test/agent/*' },
];

const up = new Upstreams();
/** The warrants the executor's own endpoint (behind the gateway) received from its callers. */
const inbound: string[] = [];
let h: GatewayHarness;
let planner: AgentClient; // alice → planner
let executor: AgentClient; // planner → executor
let third: AgentClient; // executor → third
/** alice → planner, addressed to the executor. */
let root: string;
/** executor → crm tool: the warrant the executor presents at /crm. */
let leaf: string;

before(async () => {
  h = await startGatewayHarness({
    upstreams: {
      crm: up.handler('crm'),
      mail: up.handler('mail'),
      executor: up.handler('executor', (req, res) => {
        inbound.push(String(req.headers['warrant-token']));
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
      }),
    },
    routes: (u) => [
      {
        match: { pathPrefix: '/agents/executor' },
        upstream: u['executor']!,
        audience: agentIdOf('executor'),
        protocol: 'http',
      },
      { match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' },
      { match: { pathPrefix: '/mail' }, upstream: u['mail']!, audience: MAIL, protocol: 'http' },
    ],
    catalog: [
      {
        name: 'agent:task.create',
        match: { protocol: 'http', method: 'POST', path: '/agents/executor/tasks' },
        impact: 'low',
        dataClass: 'internal',
        reversibility: 'reversible',
        blastRadius: 1,
      },
      CRM_CONTACTS_READ,
      {
        name: 'mail:inbox.read',
        match: { protocol: 'http', method: 'GET', path: '/mail/inbox*' },
        impact: 'low',
        dataClass: 'internal',
        reversibility: 'reversible',
        blastRadius: 1,
      },
    ],
  });
  planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  third = await h.sts.agent('third', WIDE);
  root = await rootWarrant(h, planner, agentIdOf('executor'), GRANTS);
  leaf = await hop(executor, root, CRM);
});

after(() => h.close());

const url = (path: string) => `${h.gw.url}${path}`;

/** Counts upstream hits and decision records around `fn`; asserts none happened. */
async function forwardsNothing(fn: () => Promise<void>): Promise<void> {
  const hits = up.total;
  const records = h.decisions.records.length;
  await fn();
  // Give a wrongly forwarded request the time to land before counting.
  await sleep(20);
  assert.equal(up.total, hits, 'the upstream received nothing');
  expectNoRecord(h, records);
}

/** A DPoP proof by `client` for a request to `path`, with any field overridden. */
function proof(
  client: AgentClient,
  path: string,
  options: { htm?: string; accessToken?: string; now?: number; htuPath?: string } = {},
): string {
  return createDpopProof({
    key: client.key,
    htm: options.htm ?? 'GET',
    htu: url(options.htuPath ?? path),
    accessToken: options.accessToken ?? leaf,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

test('the happy path answers 200 (the fixture is sound)', async () => {
  const hits = up.hits['crm']!;
  const r = await h.call(executor, leaf, '/crm/contacts/42');
  assert.equal(r.status, 200, await r.text());
  assert.equal(up.hits['crm'], hits + 1);
});

test('missing Authorization: 401 invalid_token WARRANT_CREDENTIALS_MISSING', async () => {
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), {
      headers: { dpop: proof(executor, '/crm/contacts/42') },
    });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_CREDENTIALS_MISSING',
      bareChallenge: true,
    });
  });
});

test('Bearer scheme instead of DPoP: 401 invalid_token WARRANT_CREDENTIALS_MISSING', async () => {
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), {
      headers: { authorization: `Bearer ${leaf}`, dpop: proof(executor, '/crm/contacts/42') },
    });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_CREDENTIALS_MISSING',
      secrets: [leaf],
    });
  });
});

test('missing DPoP header: 401 invalid_dpop_proof WARRANT_DPOP_INVALID', async () => {
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), { headers: { authorization: `DPoP ${leaf}` } });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_INVALID',
      secrets: [leaf],
    });
  });
});

test('two DPoP headers: 401 invalid_dpop_proof WARRANT_DPOP_INVALID (RFC 9449 §4.3: at most one)', async () => {
  await forwardsNothing(async () => {
    const r = await raw(url('/crm/contacts/42'), {
      headers: [
        ['authorization', `DPoP ${leaf}`],
        ['dpop', proof(executor, '/crm/contacts/42')],
        ['dpop', proof(executor, '/crm/contacts/42')],
      ],
    });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_INVALID',
      secrets: [leaf],
    });
  });
});

test('two Authorization headers: 400 invalid_request WARRANT_REQUEST_MALFORMED', async () => {
  await forwardsNothing(async () => {
    const r = await raw(url('/crm/contacts/42'), {
      headers: [
        ['authorization', `DPoP ${leaf}`],
        ['authorization', `DPoP ${root}`],
        ['dpop', proof(executor, '/crm/contacts/42')],
      ],
    });
    await expectRefusal(r, {
      status: 400,
      error: 'invalid_request',
      code: 'WARRANT_REQUEST_MALFORMED',
      secrets: [leaf, root],
    });
  });
});

test('replayed DPoP proof: the second use is 401 invalid_dpop_proof WARRANT_DPOP_REPLAYED', async () => {
  const headers = { authorization: `DPoP ${leaf}`, dpop: proof(executor, '/crm/contacts/42') };
  const first = await fetch(url('/crm/contacts/42'), { headers });
  assert.equal(first.status, 200, await first.text());
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), { headers });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_REPLAYED',
      secrets: [leaf, headers.dpop],
    });
  });
});

test('DPoP proof for another URI: 401 invalid_dpop_proof WARRANT_DPOP_HTU_MISMATCH', async () => {
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), {
      headers: {
        authorization: `DPoP ${leaf}`,
        dpop: proof(executor, '/crm/contacts/42', { htuPath: '/crm/contacts/43' }),
      },
    });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_HTU_MISMATCH',
      secrets: [leaf],
    });
  });
});

test('DPoP proof for another method: 401 invalid_dpop_proof WARRANT_DPOP_HTM_MISMATCH', async () => {
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), {
      headers: {
        authorization: `DPoP ${leaf}`,
        dpop: proof(executor, '/crm/contacts/42', { htm: 'DELETE' }),
      },
    });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_HTM_MISMATCH',
      secrets: [leaf],
    });
  });
});

test('DPoP proof made for another token (wrong ath): 401 invalid_dpop_proof WARRANT_DPOP_ATH_MISMATCH', async () => {
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), {
      headers: {
        authorization: `DPoP ${leaf}`,
        dpop: proof(executor, '/crm/contacts/42', { accessToken: root }),
      },
    });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_ATH_MISMATCH',
      secrets: [leaf, root],
    });
  });
});

test('stale DPoP proof (iat 10 minutes old): 401 invalid_dpop_proof WARRANT_DPOP_STALE', async () => {
  await forwardsNothing(async () => {
    const r = await fetch(url('/crm/contacts/42'), {
      headers: {
        authorization: `DPoP ${leaf}`,
        dpop: proof(executor, '/crm/contacts/42', { now: nowSeconds() - 600 }),
      },
    });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_STALE',
      secrets: [leaf],
    });
  });
});

test('a warrant for another audience (confused deputy): 401 invalid_token WARRANT_AUDIENCE_MISMATCH', async () => {
  // The executor holds a valid warrant for the CRM tool and tries to spend it on the mail tool.
  await forwardsNothing(async () => {
    const r = await h.call(executor, leaf, '/mail/inbox');
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_AUDIENCE_MISMATCH',
      secrets: [leaf],
    });
  });
});

test('a warrant presented by a key that is not its cnf: 401 invalid_token WARRANT_CNF_MISMATCH', async () => {
  // The third agent got hold of the executor's warrant and signs a perfect proof with its own key.
  await forwardsNothing(async () => {
    const r = await h.call(third, leaf, '/crm/contacts/42');
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_CNF_MISMATCH',
      secrets: [leaf],
    });
  });
});

test('an inbound warrant forwarded downstream instead of exchanged: 401 WARRANT_AUDIENCE_MISMATCH', async () => {
  // The planner calls the executor through the gateway; the executor's endpoint receives the root warrant
  // (aud = executor) as its subject token for an exchange. Instead of exchanging it, the executor passes it
  // on to the CRM tool as is — alone or as a one-link chain.
  const task = await h.call(planner, root, '/agents/executor/tasks', {
    method: 'POST',
    body: '{"task":"x"}',
  });
  assert.equal(task.status, 202, await task.text());
  const received = inbound.at(-1)!;
  assert.equal(received, root, 'the executor received the root warrant');
  await forwardsNothing(async () => {
    for (const chain of [undefined, [received]]) {
      const r = await h.call(executor, received, '/crm/contacts/42', chain ? { chain } : {});
      await expectRefusal(r, {
        status: 401,
        error: 'invalid_token',
        code: 'WARRANT_AUDIENCE_MISMATCH',
        secrets: [received],
      });
    }
    // Nor can its original holder (the key in its cnf) spend it anywhere but at its audience.
    const r = await h.call(planner, received, '/crm/contacts/42');
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_AUDIENCE_MISMATCH',
      secrets: [received],
    });
  });
});

test('an expired warrant: 401 invalid_token WARRANT_TOKEN_EXPIRED', async () => {
  // A warrant genuinely signed by the STS, for this route and this key, that expired five minutes ago.
  const claims = claimsOf(leaf) as unknown as WarrantClaims;
  const now = nowSeconds();
  const expired = signToken(
    'warrant',
    { ...claims, iat: now - 600, exp: now - 300, jti: `${claims.jti}-expired` },
    h.sts.plane.sts.keys.current,
  );
  await forwardsNothing(async () => {
    const r = await h.call(executor, expired, '/crm/contacts/42');
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_TOKEN_EXPIRED',
      secrets: [expired],
    });
  });
});

test('a revoked ancestor: the leaf and its chain are 401 invalid_token WARRANT_TOKEN_REVOKED', async () => {
  // A txn of its own, so revoking it touches no other test.
  const r0 = await rootWarrant(h, planner, agentIdOf('executor'), GRANTS);
  const r1 = await hop(executor, r0, CRM);
  const ok = await h.call(executor, r1, '/crm/contacts/7', { chain: [r0, r1] });
  assert.equal(ok.status, 200, await ok.text());

  const revoked = await h.sts.admin('POST', '/revoke', { hash: tokenHash(r0) });
  assert.equal(revoked.status, 200, await revoked.text());
  // The gateway learns it from the feed (or the next status pull): wait until its view says so.
  const leafStatus = (claimsOf(r1) as { status?: StatusRef }).status;
  const deadline = Date.now() + 2000;
  while (h.gw.revocation.check(tokenHash(r1), leafStatus) !== 'revoked') {
    assert.ok(Date.now() < deadline, 'the gateway saw the revocation within 2 s');
    await sleep(25);
  }
  await forwardsNothing(async () => {
    // The leaf alone: its own status bit is set with its ancestor's.
    const alone = await h.call(executor, r1, '/crm/contacts/7');
    await expectRefusal(alone, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_TOKEN_REVOKED',
      secrets: [r1],
    });
    // The full chain: the revoked root is found on the way.
    const chained = await h.call(executor, r1, '/crm/contacts/7', { chain: [r0, r1] });
    await expectRefusal(chained, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_TOKEN_REVOKED',
      secrets: [r0, r1],
    });
  });
});

/** alice → planner → executor → third → crm: a three-link chain, root first. */
async function threeLinks(): Promise<[string, string, string]> {
  const r0 = await rootWarrant(h, planner, agentIdOf('executor'), GRANTS);
  const r1 = await hop(executor, r0, agentIdOf('third'));
  const r2 = await hop(third, r1, CRM);
  return [r0, r1, r2];
}

test('a chain with a spliced link from another txn: 401 invalid_token WARRANT_CHAIN_LINK_BROKEN', async () => {
  const [a0, a1, a2] = await threeLinks();
  const [, b1] = await threeLinks();
  assert.notEqual(claimsOf(a1)['txn'], claimsOf(b1)['txn']);
  const ok = await h.call(third, a2, '/crm/contacts/1', { chain: [a0, a1, a2] });
  assert.equal(ok.status, 200, await ok.text());
  await forwardsNothing(async () => {
    // The middle link replaced by the same hop (same agents, same audience) of another transaction.
    const spliced = await h.call(third, a2, '/crm/contacts/1', { chain: [a0, b1, a2] });
    await expectRefusal(spliced, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_CHAIN_LINK_BROKEN',
      secrets: [a0, b1, a2],
    });
    // A link of another transaction inserted between two links of this one.
    const inserted = await h.call(third, a2, '/crm/contacts/1', { chain: [a0, a1, b1, a2] });
    await expectRefusal(inserted, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_CHAIN_LINK_BROKEN',
      secrets: [a0, a1, b1, a2],
    });
  });
});

test('a chain whose leaf is not the presented warrant: 401 invalid_token WARRANT_CHAIN_MALFORMED', async () => {
  // A whole valid chain of another transaction, with this transaction's warrant in Authorization.
  const [, , a2] = await threeLinks();
  const [b0, b1, b2] = await threeLinks();
  await forwardsNothing(async () => {
    const r = await h.call(third, a2, '/crm/contacts/1', { chain: [b0, b1, b2] });
    await expectRefusal(r, {
      status: 401,
      error: 'invalid_token',
      code: 'WARRANT_CHAIN_MALFORMED',
      secrets: [a2, b0, b1, b2],
    });
  });
});

test('a chain with reordered links: 401 invalid_token WARRANT_CHAIN_LINK_BROKEN', async () => {
  const [a0, a1, a2] = await threeLinks();
  await forwardsNothing(async () => {
    for (const chain of [
      [a1, a0, a2],
      [a0, a2, a1],
      [a2, a1, a0],
    ]) {
      const r = await h.call(third, a2, '/crm/contacts/1', { chain });
      await expectRefusal(r, {
        status: 401,
        error: 'invalid_token',
        code: 'WARRANT_CHAIN_LINK_BROKEN',
        secrets: [a0, a1, a2],
      });
    }
  });
});

test('an unknown route: 404 not_found WARRANT_ROUTE_UNKNOWN', async () => {
  await forwardsNothing(async () => {
    const r = await h.call(executor, leaf, '/nowhere/at/all');
    await expectRefusal(r, {
      status: 404,
      error: 'not_found',
      code: 'WARRANT_ROUTE_UNKNOWN',
      secrets: [leaf],
    });
  });
});
