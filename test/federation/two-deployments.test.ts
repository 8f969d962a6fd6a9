/**
 * Across organisations (DESIGN §11, issue 16), end to end on this machine: two deployments, A
 * (trust domain a.example) and B (b.example), each with its own STS (own store, signing keys, person
 * issuer), its own gateway with its own Merkle ledger in its own data directory, on their own ports. Each
 * lists the other in `federation.peers`.
 *
 * alice → A1 → A2 at A; A2 calls B1 through A's gateway with its chain; B1 exchanges A's whole chain at B's
 * STS for a B warrant to B2 (B verifies A's links with A's keys and holds them to A's configured limits);
 * B2 narrows it for B's CRM tool and calls it through B's gateway, which verifies the crossing chain and
 * records both halves. B refuses a chain from an unconfigured peer, one that widens at the boundary, and —
 * after A revokes alice's root warrant, within the staleness bound — one whose A root is revoked, and its
 * own descendants die too. A peer that cannot be reached makes B fail closed past the bound. Finally
 * `warrant audit reconcile` matches both ledgers' exports and reports a record deleted from one of them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WarrantConfig } from '../../src/config/types.ts';
import type { Grant } from '../../src/core/grants/index.ts';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { type RunningGateway, startGateway } from '../../src/gateway/start-gateway.ts';
import { ActionCatalog, type CatalogAction } from '../../src/guard/catalog.ts';
import { type AgentClient, StsRequestError, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { buildChain } from '../support/chains.ts';
import { warrantInProcess } from '../support/cli.ts';
import { listen } from '../support/gateway-harness.ts';
import { type Harness, startHarness } from '../support/sts-harness.ts';

const A_DOMAIN = 'a.example';
const B_DOMAIN = 'b.example';
const idA = (name: string) => `spiffe://${A_DOMAIN}/agent/${name}`;
const idB = (name: string) => `spiffe://${B_DOMAIN}/agent/${name}`;
const CRM_B = 'https://crm.b.example';
const PAY_B = 'https://pay.b.example';
/** B's staleness bound for A's status (seconds): small, so the fail-closed test is quick. */
const BOUND = 2;

const ASK: CatalogAction = {
  name: 'agent:ask',
  match: { protocol: 'http', method: 'POST', path: '/b1/ask' },
  impact: 'low',
  dataClass: 'internal',
  reversibility: 'reversible',
  blastRadius: 1,
};
const CONTACTS: CatalogAction = {
  name: 'crm:contacts.read',
  match: { protocol: 'http', method: 'GET', path: '/crm/contacts*' },
  impact: 'low',
  dataClass: 'internal',
  reversibility: 'reversible',
  blastRadius: 1,
};

const ROOT_GRANTS: Grant[] = [
  { action: 'crm:contacts.read', resource: CRM_B },
  { action: 'agent:ask', resource: idB('b1') },
  { action: 'payments:refund', resource: PAY_B },
];
/** What A2 hands B1: no payments. */
const HOP_GRANTS: Grant[] = [
  { action: 'crm:contacts.read', resource: CRM_B },
  { action: 'agent:ask', resource: idB('b1') },
];
const CRM_GRANTS: Grant[] = [{ action: 'crm:contacts.read', resource: CRM_B }];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const dir = mkdtempSync(join(tmpdir(), 'warrant-federation-'));
const quiet = () => createLogger({ service: 'gateway', level: 'silent' });
const upstreamServers: { close(cb: () => void): void; closeAllConnections(): void }[] = [];

let A: Harness;
let B: Harness;
let gwA: RunningGateway;
let gwB: RunningGateway;
let a1: AgentClient;
let a2: AgentClient;
let a3: AgentClient;
let b1: AgentClient;
let b2: AgentClient;
/** alice's root at A, A2's warrant for B1, B's crossing warrant for B2, B2's warrant for the CRM. */
let root: string;
let aLeaf: string;
let crossing: string;
let toolWarrant: string;
let aClosed = false;
/** What B1's endpoint received through A's gateway: the warrant addressed to it and its chain. */
let received: { token: string | undefined; chain: string | undefined } = {
  token: undefined,
  chain: undefined,
};
let gatewaysClosed = false;
/** The second chain (after the revocation): alice's new root at A and A2's warrant for B1. */
let root2: string;
let aLeaf2: string;
let crossing2: string;
let toolWarrant2: string;

async function call(
  gw: RunningGateway,
  client: AgentClient,
  warrant: string,
  path: string,
  init: { method?: string; chain?: readonly string[] } = {},
): Promise<Response> {
  const method = init.method ?? 'GET';
  const url = `${gw.url}${path}`;
  return fetch(url, {
    method,
    headers: {
      authorization: `DPoP ${warrant}`,
      dpop: client.dpopProof(method, url, warrant),
      ...(init.chain ? { 'warrant-chain': init.chain.join(', ') } : {}),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{"question":"contacts?"}' } : {}),
  });
}

function gatewayConfig(
  sts: Harness,
  name: string,
  routes: WarrantConfig['gateway']['routes'],
): WarrantConfig {
  return {
    ...sts.config,
    dataDir: join(dir, name),
    ledger: { ...sts.config.ledger, checkpointEvery: { records: 1, ms: 50 } },
    gateway: { ...sts.config.gateway, listen: { host: '127.0.0.1', port: 0 }, routes },
  };
}

/** Refusal of an exchange: the STS's stable code. */
async function refused(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (error: unknown) => {
    assert.ok(error instanceof StsRequestError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** Polls `probe` until it returns true (an integration bound, not a timed assertion: it fails on timeout). */
async function eventually(probe: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

const codeOf = async (r: Response): Promise<string | undefined> =>
  ((await r.json().catch(() => ({}))) as { code?: string }).code;

before(async () => {
  const portB = await freePort();
  const issuerB = `http://127.0.0.1:${portB}`;
  A = await startHarness({
    overrides: {
      trustDomain: A_DOMAIN,
      dataDir: join(dir, 'a-sts'),
      federation: {
        // B's agents may be addressed from A; what B may send to A (nothing in this test).
        peers: [
          {
            issuer: issuerB,
            trustDomain: B_DOMAIN,
            audiences: [idA('a1')],
            grants: [{ action: 'none:none', resource: 'none' }],
            maxDepth: 0,
          },
        ],
      },
    } as never,
  });
  B = await startHarness({
    overrides: {
      trustDomain: B_DOMAIN,
      dataDir: join(dir, 'b-sts'),
      sts: { listen: { port: portB } },
      federation: {
        statusStalenessSeconds: BOUND,
        watchIntervalMs: 100,
        peers: [
          {
            issuer: A.url,
            trustDomain: A_DOMAIN,
            audiences: [idB('b1')],
            grants: [
              { action: 'crm:*', resource: CRM_B },
              { action: 'agent:*', resource: `spiffe://${B_DOMAIN}/*` },
            ],
            maxDepth: 1,
            maxLifetimeSeconds: 900,
          },
        ],
      },
    } as never,
  });
  assert.equal(B.url, issuerB);
  a1 = await A.agent('a1', { allowedAudiences: [idA('a2')] });
  a2 = await A.agent('a2', {
    allowedAudiences: [`spiffe://${B_DOMAIN}/agent/*`, CRM_B, idA('a3')],
  });
  a3 = await A.agent('a3', { allowedAudiences: [`spiffe://${B_DOMAIN}/agent/*`, CRM_B] });
  b1 = await B.agent('b1', { allowedAudiences: [idB('b2')] });
  b2 = await B.agent('b2', { allowedAudiences: [CRM_B] });

  const b1Endpoint = await listen((req, res) => {
    received = {
      token: req.headers['warrant-token'] as string | undefined,
      chain: req.headers['warrant-chain'] as string | undefined,
    };
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  const crm = await listen((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"contacts":[]}'));
  });
  upstreamServers.push(b1Endpoint.server, crm.server);
  // A's gateway: A's agents reach B1's endpoint through it (the call that carries the chain across).
  gwA = await startGateway(
    gatewayConfig(A, 'a-gw', [
      {
        match: { pathPrefix: '/b1' },
        upstream: b1Endpoint.url,
        audience: idB('b1'),
        protocol: 'http',
        signedBodies: false,
      },
    ] as never),
    { issuer: A.url, catalog: new ActionCatalog([ASK]), logger: quiet() },
  );
  // B's gateway: B's CRM tool.
  gwB = await startGateway(
    gatewayConfig(B, 'b-gw', [
      {
        match: { pathPrefix: '/crm' },
        upstream: crm.url,
        audience: CRM_B,
        protocol: 'http',
        signedBodies: false,
      },
    ] as never),
    { issuer: B.url, catalog: new ActionCatalog([CONTACTS]), logger: quiet() },
  );
});

after(async () => {
  if (!gatewaysClosed) {
    await gwA?.close();
    await gwB?.close();
  }
  for (const s of upstreamServers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await B?.close();
  if (!aClosed) await A?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a chain across two deployments', () => {
  test('person → A1 → A2 → B1 → B2: a tool call at B verified across the boundary, both halves recorded', async () => {
    root = (
      await a1.exchange({
        subjectToken: A.idToken('alice', a1),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: a2.agentId,
        grants: ROOT_GRANTS,
      })
    ).access_token;
    aLeaf = (
      await a2.exchange({
        subjectToken: root,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b1.agentId,
        grants: HOP_GRANTS,
      })
    ).access_token;
    // A2 calls B1 through A's gateway, presenting its chain.
    const asked = await call(gwA, a2, aLeaf, '/b1/ask', { method: 'POST', chain: [root, aLeaf] });
    assert.equal(asked.status, 200, await asked.clone().text());

    // B1 received A's leaf and its whole chain from A's gateway …
    assert.equal(received.token, aLeaf);
    assert.equal(received.chain, `${root}, ${aLeaf}`);
    // … and exchanges that chain at B's STS (identity chaining) for a warrant to B2.
    crossing = (
      await b1.exchange({
        subjectToken: received.chain.replaceAll(' ', ''),
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: CRM_GRANTS,
      })
    ).access_token;
    const c = JSON.parse(Buffer.from(crossing.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.equal(c['iss'], B.url);
    assert.equal(c['prev'], tokenHash(aLeaf), "prev is the hash of A's leaf");
    assert.equal(c['root'], tokenHash(root));
    assert.equal(c['sub'], 'alice');
    assert.equal(c['depth'], 2);
    assert.deepEqual(c['act'], { sub: b1.agentId, act: { sub: a2.agentId, act: { sub: a1.agentId } } });
    const rootClaims = JSON.parse(Buffer.from(root.split('.')[1]!, 'base64url').toString());
    assert.equal(c['sub_iss'], rootClaims.sub_iss);
    assert.equal(c['txn'], rootClaims.txn);

    // The leaf alone is refused: a peer's warrant crosses with its whole chain …
    const exchangeForm = {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: aLeaf,
      subject_token_type: TOKEN_TYPES.warrant,
      audience: b2.agentId,
      requested_token_type: TOKEN_TYPES.warrant,
      authorization_details: JSON.stringify(CRM_GRANTS.map((g) => ({ type: 'warrant_grant', ...g }))),
    };
    const leafOnly = await b1.post('/token', exchangeForm, { dpop: true });
    assert.equal(leafOnly.status, 400);
    assert.equal(await codeOf(leafOnly), 'WARRANT_PEER_CHAIN_REQUIRED');
    // … which may also come as the leaf with a Warrant-Chain header.
    const withHeader = async (chainHeader: string) => {
      const url = `${B.url}/token`;
      return fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          dpop: b1.dpopProof('POST', url),
          'warrant-chain': chainHeader,
        },
        body: new URLSearchParams({
          ...exchangeForm,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: b1.clientAssertion(),
        }),
      });
    };
    const headerForm = await withHeader(`${root}, ${aLeaf}`);
    assert.equal(headerForm.status, 200, await headerForm.clone().text());
    const other = await withHeader(`${root}, ${root}`);
    assert.equal(await codeOf(other), 'WARRANT_CHAIN_MALFORMED', 'the chain must end with the subject_token');

    toolWarrant = (
      await b2.exchange({
        subjectToken: crossing,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: CRM_B,
        grants: CRM_GRANTS,
      })
    ).access_token;
    const chain = [root, aLeaf, crossing, toolWarrant];
    const r = await call(gwB, b2, toolWarrant, '/crm/contacts', { chain });
    assert.equal(r.status, 200, await r.clone().text());
  });

  test("B's decision record holds both halves and the boundary", async () => {
    const { records } = await readLedger(B, 'b-gw');
    const allowed = records.filter((x) => x['decision'] === 'allow');
    const last = allowed.at(-1)!;
    const chain = last['chain'] as { hash: string; actor: string; iss?: string }[];
    assert.deepEqual(
      chain.map((l) => l.actor),
      [a1.agentId, a2.agentId, b1.agentId, b2.agentId],
    );
    assert.deepEqual(
      chain.map((l) => l.iss),
      [A.url, A.url, undefined, undefined],
    );
    assert.deepEqual(last['boundary'], { index: 2, peer: A.url });
  });

  test('B refuses a chain from an unconfigured peer', async () => {
    const foreign = buildChain(2);
    await refused(
      b1.exchange({
        subjectToken: foreign.tokens.join(','),
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: CRM_GRANTS,
      }),
      'WARRANT_PEER_UNKNOWN',
    );
    // Its leaf alone, too.
    await refused(
      b1.exchange({
        subjectToken: foreign.tokens.at(-1)!,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: CRM_GRANTS,
      }),
      'WARRANT_PEER_UNKNOWN',
    );
    // And at B's gateway: a chain whose first links are from an unconfigured issuer.
    const r = await call(gwB, b2, toolWarrant, '/crm/contacts', {
      chain: [...foreign.tokens, crossing, toolWarrant],
    });
    assert.equal(r.status, 401);
    assert.equal(await codeOf(r), 'WARRANT_PEER_UNKNOWN');
  });

  test('B refuses a chain that widens at the boundary', async () => {
    // A sends more than B allows from A (payments): beyond the peer's configured grants.
    const wide = (
      await a2.exchange({
        subjectToken: root,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b1.agentId,
        grants: ROOT_GRANTS,
      })
    ).access_token;
    await refused(
      b1.exchange({
        subjectToken: `${root},${wide}`,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: CRM_GRANTS,
      }),
      'WARRANT_PEER_GRANT_EXCEEDED',
    );
    // Deeper than B accepts from A (A1 → A2 → A3 → B1: depth 2 > 1).
    const toA3 = (
      await a2.exchange({
        subjectToken: root,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: a3.agentId,
        grants: HOP_GRANTS,
      })
    ).access_token;
    const deep = (
      await a3.exchange({
        subjectToken: toA3,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b1.agentId,
        grants: HOP_GRANTS,
      })
    ).access_token;
    await refused(
      b1.exchange({
        subjectToken: [root, toA3, deep].join(','),
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: CRM_GRANTS,
      }),
      'WARRANT_PEER_DEPTH_EXCEEDED',
    );
    // B1 asks B for more than A's leaf holds: B's own narrowing applies to the incoming authority.
    await refused(
      b1.exchange({
        subjectToken: `${root},${aLeaf}`,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: [{ action: 'payments:refund', resource: PAY_B }],
      }),
      'WARRANT_GRANT_NOT_HELD',
    );
    // Only the recipient of A's leaf may continue it at B.
    await refused(
      b2.exchange({
        subjectToken: `${root},${aLeaf}`,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: CRM_B,
        grants: CRM_GRANTS,
      }),
      'WARRANT_CALLER_NOT_AUDIENCE',
    );
  });

  test("revoking alice's root at A kills B's descendants within the bound", async () => {
    const revoked = await A.admin('POST', '/revoke', { hash: tokenHash(root), reason: 'test' });
    assert.equal(revoked.status, 200);
    // B's STS refuses the A chain: its root is revoked at A (A's feed and status lists).
    await eventually(async () => {
      try {
        await b1.exchange({
          subjectToken: `${root},${aLeaf}`,
          subjectTokenType: TOKEN_TYPES.warrant,
          audience: b2.agentId,
          grants: CRM_GRANTS,
        });
        return false;
      } catch (error) {
        return error instanceof StsRequestError && error.code === 'WARRANT_PEER_CHAIN_REVOKED';
      }
    }, 'B refuses the revoked A chain');
    // B's gateway refuses the whole chain (A's links checked at A) …
    await eventually(
      async () =>
        (await codeOf(
          await call(gwB, b2, toolWarrant, '/crm/contacts', {
            chain: [root, aLeaf, crossing, toolWarrant],
          }),
        )) === 'WARRANT_TOKEN_REVOKED',
      'the gateway refuses the chain',
    );
    // … and the leaf alone: B's STS revoked what it issued under A's chain, with the descendants.
    await eventually(
      async () =>
        (await codeOf(await call(gwB, b2, toolWarrant, '/crm/contacts'))) === 'WARRANT_TOKEN_REVOKED',
      'the gateway refuses the B leaf alone',
    );
    assert.ok(B.plane.sts.crossings.revoked >= 2, 'the crossing warrant and its child');
  });

  test('a peer that cannot be reached makes B fail closed for its chains past the bound', async () => {
    root2 = (
      await a1.exchange({
        subjectToken: A.idToken('alice', a1),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: a2.agentId,
        grants: ROOT_GRANTS,
      })
    ).access_token;
    aLeaf2 = (
      await a2.exchange({
        subjectToken: root2,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b1.agentId,
        grants: HOP_GRANTS,
      })
    ).access_token;
    const asked = await call(gwA, a2, aLeaf2, '/b1/ask', { method: 'POST', chain: [root2, aLeaf2] });
    assert.equal(asked.status, 200);
    crossing2 = (
      await b1.exchange({
        subjectToken: `${root2},${aLeaf2}`,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: CRM_GRANTS,
      })
    ).access_token;
    toolWarrant2 = (
      await b2.exchange({
        subjectToken: crossing2,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: CRM_B,
        grants: CRM_GRANTS,
      })
    ).access_token;
    const chain = [root2, aLeaf2, crossing2, toolWarrant2];
    const ok = await call(gwB, b2, toolWarrant2, '/crm/contacts', { chain });
    assert.equal(ok.status, 200, await ok.clone().text());

    // A goes away: its status lists and feed cannot be reached.
    aClosed = true;
    await A.close();
    await eventually(async () => {
      const r = await call(gwB, b2, toolWarrant2, '/crm/contacts', { chain });
      return r.status === 503 && (await codeOf(r)) === 'WARRANT_STATUS_STALE';
    }, "the gateway fails closed on A's links");
    // B's STS revoked what it issued under the chain it can no longer vouch for: the leaf alone is refused.
    await eventually(
      async () =>
        (await codeOf(await call(gwB, b2, toolWarrant2, '/crm/contacts'))) === 'WARRANT_TOKEN_REVOKED',
      'the B leaf is revoked',
    );
    // And no new crossing is issued under A's chain.
    await refused(
      b1.exchange({
        subjectToken: `${root2},${aLeaf2}`,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: b2.agentId,
        grants: CRM_GRANTS,
      }),
      'WARRANT_STATUS_STALE',
    );
  });

  test('reconciliation of both exports finds every call on both sides, and a record deleted from one', async () => {
    gatewaysClosed = true;
    await gwA.close();
    await gwB.close();
    const exported: Record<'a' | 'b', { file: string; key: string; records: Record<string, unknown>[] }> =
      {} as never;
    for (const side of ['a', 'b'] as const) {
      const data = join(dir, `${side}-gw`);
      const file = join(dir, `${side}.jsonl`);
      assert.equal((await cli(['audit', 'export', '--data', data, '--out', file])).code, 0);
      const key = (await cli(['audit', 'key', '--data', data])).stdout.trim();
      exported[side] = { file, key, records: (await readLedger(B, `${side}-gw`)).records };
    }
    const args = (fa: string, fb: string) => [
      'audit',
      'reconcile',
      fa,
      fb,
      '--key-a',
      exported.a.key,
      '--key-b',
      exported.b.key,
    ];
    const r = await cli([...args(exported.a.file, exported.b.file), '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout) as {
      ok: boolean;
      a: { verified: boolean };
      b: { verified: boolean };
      matches: { hash: string; a: { id: string }[]; b: { id: string }[] }[];
      onlyA: unknown[];
      onlyB: unknown[];
    };
    assert.ok(result.ok && result.a.verified && result.b.verified);
    assert.deepEqual(result.onlyA, []);
    assert.deepEqual(result.onlyB, []);
    // Every call A's gateway allowed to B1, and every call B's gateway recorded under a crossing chain, is
    // in a matched hand-off — one per warrant A handed across.
    const matchedIds = new Set(result.matches.flatMap((m) => [...m.a, ...m.b].map((x) => x.id)));
    const aCalls = exported.a.records.filter((x) => x['kind'] === 'decision' && x['decision'] === 'allow');
    const bCrossing = exported.b.records.filter((x) => x['boundary'] !== undefined);
    assert.equal(aCalls.length, 2);
    assert.ok(bCrossing.length >= 2);
    for (const x of [...aCalls, ...bCrossing]) assert.ok(matchedIds.has(x['id'] as string), String(x['id']));
    assert.deepEqual(result.matches.map((m) => m.hash).sort(), [tokenHash(aLeaf), tokenHash(aLeaf2)].sort());
    for (const m of result.matches) assert.ok(m.a.length === 1 && m.b.length >= 1);

    // B's disclosure report for alice's transaction shows where the work crossed into B.
    const txn = JSON.parse(Buffer.from(root.split('.')[1]!, 'base64url').toString()).txn as string;
    const html = join(dir, 'disclosure.html');
    const report = await cli([
      'audit',
      'report',
      'disclosure',
      '--txn',
      txn,
      '--data',
      join(dir, 'b-gw'),
      '--out',
      html,
    ]);
    assert.equal(report.code, 0, report.stderr);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /crossed from another organisation/);
    assert.ok(page.includes(`issued by <code>${A.url}</code>`));

    // A record deleted from A's export: A's proof fails, and B's calls under that hand-off are one-sided.
    const aLines = readFileSync(exported.a.file, 'utf8').split('\n');
    const firstCall = aLines.findIndex((l) => l.includes(aCalls[0]!['id'] as string));
    const cut = join(dir, 'a-cut.jsonl');
    writeFileSync(cut, aLines.filter((_, i) => i !== firstCall).join('\n'));
    const rc = await cli([...args(cut, exported.b.file), '--json']);
    assert.equal(rc.code, 1);
    const cutResult = JSON.parse(rc.stdout) as {
      a: { verified: boolean };
      b: { verified: boolean };
      onlyB: { record: { id: string }; reason: string }[];
    };
    assert.equal(cutResult.a.verified, false, 'the deletion breaks A');
    assert.equal(cutResult.b.verified, true);
    const handedOver = aCalls[0]!['chain'] as { hash: string }[];
    const underIt = bCrossing.filter((x) =>
      (x['chain'] as { hash: string }[]).some((l) => l.hash === handedOver.at(-1)!.hash),
    );
    assert.ok(underIt.length >= 1);
    assert.deepEqual(
      cutResult.onlyB.map((o) => o.record.id).sort(),
      underIt.map((x) => x['id'] as string).sort(),
    );
    // The text report says so too.
    const text = await cli(args(cut, exported.b.file));
    assert.equal(text.code, 1);
    assert.match(text.stdout, /recorded by B, not by A: [1-9]/);
    assert.match(text.stdout, /DOES NOT VERIFY/);

    // A record deleted from B's export: A's allowed call to B1 has nothing under it at B.
    const bLines = readFileSync(exported.b.file, 'utf8').split('\n');
    const ids = new Set(underIt.map((x) => x['id'] as string));
    const bCut = join(dir, 'b-cut.jsonl');
    writeFileSync(bCut, bLines.filter((l) => ![...ids].some((id) => l.includes(id))).join('\n'));
    const rb = await cli([...args(exported.a.file, bCut), '--json']);
    assert.equal(rb.code, 1);
    const bResult = JSON.parse(rb.stdout) as {
      b: { verified: boolean };
      onlyA: { record: { id: string } }[];
    };
    assert.equal(bResult.b.verified, false);
    assert.deepEqual(
      bResult.onlyA.map((o) => o.record.id),
      [aCalls[0]!['id']],
    );
  });
});

/** Reads a gateway's ledger records (via `warrant audit export`). */
async function readLedger(_sts: Harness, name: string): Promise<{ records: Record<string, unknown>[] }> {
  const out = join(dir, `${name}-read.jsonl`);
  const r = await cli(['audit', 'export', '--data', join(dir, name), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const records = readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"type":"record"'))
    .map((l) => (JSON.parse(l) as { record: Record<string, unknown> }).record);
  return { records };
}

const cli = (args: readonly string[]) => warrantInProcess(args);
