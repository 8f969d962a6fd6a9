/**
 * Revocation of a 1,000-descendant subtree, visible at every gateway (DESIGN §9 row 6), on SQLite and on
 * PostgreSQL, in the same run.
 *
 * Processes: the STS (a durable SQLite file, then PostgreSQL in a throwaway schema) and four gateways
 * (each its own process, following the STS's revocation feed and status lists as in production) run as
 * children; this process issues the subtree, revokes its root over the admin API and is the load generator.
 *
 * The subtree, fresh each round: the executor exchanges the root warrant (person → planner → executor) for a
 * hop to a third agent, and the third agent exchanges that hop 1,000 times for leaves addressed to the CRM
 * tool: the hop and its 1,000 descendants. Every gateway serves the last leaf (`Warrant-Chain: root, hop,
 * leaf`, a fresh DPoP proof per request, signed before the timed window) until the hop is revoked.
 *
 * Figure: from the moment the revocation request is sent until the LAST of the four gateways refuses the
 * leaf with WARRANT_TOKEN_REVOKED (each gateway polled c=1 with a 3 ms pause between polls). Beside it, same run:
 * the revocation request's own round trip (the STS's transaction: 1,001 rows and status bits) and one
 * gateway request's p50 before the revocation (the polling resolution).
 *   BENCH_REVOCATION_ROUNDS=n   revocations per store (default 3; each a fresh subtree), the median counts
 *   BENCH_REVOCATION_AB=1       one more PostgreSQL row, same run, with the tokens table back at fillfactor
 *                               100 (the store before migration 004); not a goal
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createDpopProof } from '../src/core/dpop/index.ts';
import { tokenHash } from '../src/core/jose/hash.ts';
import { type AgentClient, TOKEN_TYPES } from '../src/sdk/agent-client.ts';
import { postgresSchemas } from '../test/support/postgres-schemas.ts';
import { POSTGRES_URL } from '../test/support/services.ts';
import { type Child, startChild } from './lib/child.ts';
import {
  newAdminToken,
  type PersonIdp,
  personIdp,
  registerAgent,
  rootDelegation,
  type StsAdmin,
  TOOL,
  TRUST_DOMAIN,
  WIDE,
} from './lib/delegation.ts';
import type { GatewayServerSpec } from './lib/gateway-server.ts';
import { quantile } from './lib/load.ts';
import { goal } from './lib/measure.ts';
import type { PhaseTotals, StsServerSpec } from './lib/sts-server.ts';

const GATEWAYS = 4;
const DESCENDANTS = 1000;
const GOAL_MS = 100;
const ROUNDS = Number(process.env['BENCH_REVOCATION_ROUNDS'] ?? 3);
const AB = process.env['BENCH_REVOCATION_AB'] === '1';
const PATH = '/crm/contacts/42';
/** Pause between two polls of one gateway (ms). */
const POLL_PAUSE_MS = 3;
/** Requests each gateway may need while waiting for the revocation (fresh proofs, signed beforehand). */
const PROOFS_PER_GATEWAY = 2000;

interface Round {
  /** ms from sending the revocation until each gateway refused the leaf (sorted). */
  readonly visibleMs: number[];
  readonly revokeCallMs: number;
  readonly revoked: number;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'warrant-bench-revocation-'));
  const schemas = postgresSchemas('warrant_bench_rev');
  const idp = personIdp(dir);
  console.log(
    `\nrevocation of a ${DESCENDANTS.toLocaleString('en-US')}-descendant subtree, visible at ${GATEWAYS} gateways (DESIGN §9 row 6); ${ROUNDS} rounds per store`,
  );
  try {
    await benchStore('SQLite file (WAL)', { kind: 'sqlite', path: join(dir, 'sts.db') }, dir, idp);
    await benchStore(
      'PostgreSQL',
      { kind: 'postgres', url: POSTGRES_URL, schema: schemas.fresh() },
      dir,
      idp,
    );
    if (AB) {
      // The same on a schema whose tokens table is back at PostgreSQL's default fill factor (the store
      // before migration 004): full pages, so revoking a row is a non-HOT update with an insert per index.
      const schema = schemas.fresh();
      await benchStore(
        'PostgreSQL, tokens at fillfactor 100 (before 004)',
        { kind: 'postgres', url: POSTGRES_URL, schema },
        dir,
        idp,
        {
          afterStart: () => schemas.admin.query(`ALTER TABLE "${schema}".tokens SET (fillfactor = 100)`),
          goalRow: false,
        },
      );
    }
  } finally {
    await schemas
      .dropAll()
      .catch((error: Error) => console.error(`could not drop the benchmark's schema: ${error.message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchStore(
  name: string,
  store: StsServerSpec['store'],
  dir: string,
  idp: PersonIdp,
  options: { readonly afterStart?: () => Promise<unknown>; readonly goalRow?: boolean } = {},
): Promise<void> {
  const lib = (file: string) => new URL(`./lib/${file}`, import.meta.url);
  const children: Child[] = [];
  const adminToken = newAdminToken();
  const runDir = mkdtempSync(join(dir, 'run-'));
  try {
    const sts = await startChild('sts', lib('sts-server.ts'), {
      store,
      trustDomain: TRUST_DOMAIN,
      dataDir: join(runDir, 'sts'),
      adminToken,
      personIssuer: idp.trusted,
      hopLifetime: 3600,
      phases: true,
    } satisfies StsServerSpec);
    children.push(sts);
    await options.afterStart?.();
    const upstream = await startChild('upstream', lib('gateway-upstream.ts'), {});
    children.push(upstream);
    const gateways = await Promise.all(
      Array.from({ length: GATEWAYS }, (_, i) =>
        startChild('gateway', lib('gateway-server.ts'), {
          issuer: sts.ready.url,
          trustDomain: TRUST_DOMAIN,
          dataDir: join(runDir, `gw${i}`),
          upstream: upstream.ready.url,
          audience: TOOL,
          decisions: { kind: 'memory' },
        } satisfies GatewayServerSpec),
      ),
    );
    children.push(...gateways);
    const admin: StsAdmin = { url: sts.ready.url, adminToken };
    const rounds: Round[] = [];
    const requestMs: number[] = [];
    const agents = await setUp(admin, idp);
    for (let r = 0; r < ROUNDS; r++) rounds.push(await oneRound(admin, agents, gateways, requestMs));
    report(name, rounds, requestMs, options.goalRow ?? true);
    const { phases } = await sts.request<{ phases: PhaseTotals }>({ type: 'phases-get' });
    for (const [label, p] of Object.entries(phases))
      if (label.includes('revoke'))
        console.log(
          `  STS ${label}: mean ${(p.totalMs / p.count).toFixed(1)} ms, max ${p.maxMs.toFixed(1)} ms over ${p.count}`,
        );
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

interface Agents {
  readonly executor: AgentClient;
  readonly third: AgentClient;
  readonly root: string;
}

/** person → planner → executor (the root warrant, kept live over the rounds), and the third agent. */
async function setUp(admin: StsAdmin, idp: PersonIdp): Promise<Agents> {
  const { executor, root } = await rootDelegation(admin, idp, {
    grants: [
      { action: 'crm:*', resource: 'https://tools.bench.warrant.test/*' },
      { action: 'agent:*', resource: `spiffe://${TRUST_DOMAIN}/agent/*` },
    ],
  });
  const third = await registerAgent(admin, 'third', WIDE);
  return { executor, third, root };
}

/**
 * Issues a fresh subtree (root → hop to the third agent → 1,000 leaves to the tool), waits until every
 * gateway serves one leaf, revokes the hop (1,001 tokens), times the refusals.
 */
async function oneRound(
  admin: StsAdmin,
  agents: Agents,
  gateways: Child[],
  requestMs: number[],
): Promise<Round> {
  const { executor, third, root } = agents;
  const hop = (
    await executor.exchange({
      subjectToken: root,
      subjectTokenType: TOKEN_TYPES.warrant,
      audience: third.agentId,
    })
  ).access_token;
  // 1,000 leaves under the hop, four exchanges at a time (untimed).
  const leaves: string[] = [];
  for (let i = 0; i < DESCENDANTS; i += 4) {
    const batch = Array.from({ length: Math.min(4, DESCENDANTS - i) }, () =>
      third.exchange({ subjectToken: hop, subjectTokenType: TOKEN_TYPES.warrant, audience: TOOL }),
    );
    for (const r of await Promise.all(batch)) leaves.push(r.access_token);
  }
  const leaf = leaves[DESCENDANTS - 1]!;
  const chain = `${root}, ${hop}, ${leaf}`;

  // Every gateway: its feed connected, the leaf served (its status known), proofs ready.
  const proofs = gateways.map((gw) => {
    const htu = `${gw.ready.url}${PATH}`;
    return Array.from({ length: PROOFS_PER_GATEWAY }, () =>
      createDpopProof({ key: third.key, htm: 'GET', htu, accessToken: leaf }),
    );
  });
  const call = async (g: number, proof: string) => {
    const t0 = performance.now();
    const response = await fetch(`${gateways[g]!.ready.url}${PATH}`, {
      headers: { authorization: `DPoP ${leaf}`, dpop: proof, 'warrant-chain': chain },
    });
    const body = await response.text();
    return { status: response.status, body, ms: performance.now() - t0 };
  };
  await Promise.all(gateways.map((gw) => waitReady(gw.ready.url)));
  for (let g = 0; g < gateways.length; g++)
    for (let i = 0; i < 20; i++) {
      const answer = await call(g, proofs[g]!.pop()!);
      if (answer.status !== 200) throw new Error(`gateway ${g} refuses the live leaf: ${answer.body}`);
      requestMs.push(answer.ms);
    }

  // The timed part: send the revocation, poll every gateway until it refuses the leaf.
  const start = performance.now();
  const revoking = fetch(`${admin.url}/admin/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hash: tokenHash(hop), reason: 'bench' }),
  }).then(async (response) => {
    const body = (await response.json()) as { revoked?: number };
    if (response.status !== 200) throw new Error(`revocation failed: ${JSON.stringify(body)}`);
    return { ms: performance.now() - start, revoked: body.revoked ?? 0 };
  });
  const visible = await Promise.all(
    gateways.map(async (_, g) => {
      for (;;) {
        const proof = proofs[g]!.pop();
        if (proof === undefined)
          throw new Error(`gateway ${g} still serves the leaf after ${PROOFS_PER_GATEWAY} calls`);
        const answer = await call(g, proof);
        if (answer.status === 200) {
          // Paced, not back to back: four polling loops flat out would take the cores from the STS and
          // PostgreSQL whose work is being timed. The pause bounds the resolution (plus one request).
          await new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS));
          continue;
        }
        if (!answer.body.includes('WARRANT_TOKEN_REVOKED'))
          throw new Error(`gateway ${g} refused with something else: ${answer.status} ${answer.body}`);
        return performance.now() - start;
      }
    }),
  );
  const revocation = await revoking;
  if (revocation.revoked !== DESCENDANTS + 1)
    throw new Error(`revoked ${revocation.revoked} tokens, expected ${DESCENDANTS + 1}`);
  return {
    visibleMs: visible.sort((a, b) => a - b),
    revokeCallMs: revocation.ms,
    revoked: revocation.revoked,
  };
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${url}/readyz`).catch(() => undefined);
    if (response?.status === 200) return;
    await response?.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} never became ready`);
}

function report(name: string, rounds: Round[], requestMs: number[], goalRow: boolean): void {
  const last = rounds.map((r) => r.visibleMs.at(-1)!);
  const median = quantile(last, 0.5);
  const call = quantile(
    rounds.map((r) => r.revokeCallMs),
    0.5,
  );
  const req = quantile(requestMs, 0.5);
  console.log(
    `${name}: last of ${GATEWAYS} gateways refuses after ${last.map((v) => v.toFixed(1)).join(' / ')} ms (median ${median.toFixed(1)}); revocation call ${call.toFixed(1)} ms; one gateway request p50 ${req.toFixed(2)} ms`,
  );
  for (const [i, r] of rounds.entries())
    console.log(`  round ${i + 1}: gateways refuse at ${r.visibleMs.map((v) => v.toFixed(1)).join(', ')} ms`);
  if (!goalRow) return;
  goal({
    figure: `revocation of a 1,000-descendant subtree at ${GATEWAYS} gateways, ${name}`,
    goal: `≤ ${GOAL_MS} ms`,
    measured: `${median.toFixed(1)} ms (${(median / GOAL_MS).toFixed(2)} × goal)`,
    baseline: `revocation call ${call.toFixed(1)} ms, gateway request p50 ${req.toFixed(2)} ms`,
    met: median <= GOAL_MS,
  });
}
