/**
 * Scaling rows (issue 13): how the per-request costs move with size, each beside a baseline measured in the
 * same run (one node:crypto Ed25519 verification, or one SHA-256 of 32 bytes for the ledger).
 *   - chain depth 1 / 3 / 5 / 8: verifying a presented chain cold (every signature) and from the gateway's
 *     chain cache (a repeat presentation);
 *   - 10 vs 10,000 agents: the cached chain path when 10 or 10,000 distinct chains (one per agent) take
 *     turns — the cache's lookups at the size a busy gateway holds;
 *   - ledger at 10⁴ records (10⁶ with BENCH_SCALING_LEDGER_FULL=1, or `--check --full`): Merkle append and
 *     inclusion-proof generation per record;
 *   - policy set of 10 / 1,000 policies: one prepared Cedar decision (no decision cache).
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ChainCache, verifyChain } from '../src/core/chain/index.ts';
import { leafHash, MerkleTree } from '../src/ledger/merkle.ts';
import { DEFAULT_POLICY_FILES, DEFAULT_SCHEMA_FILE, loadPolicySet } from '../src/policy/index.ts';
import type { AuthorizationRequest } from '../src/policy/types.ts';
import { buildChain, type ChainFixture, ISSUER, relink } from '../test/support/chains.ts';
import { ed25519Verification, measure, scaling } from './lib/measure.ts';

const LEDGER_FULL = process.env['BENCH_SCALING_LEDGER_FULL'] === '1';

export function run(): void {
  console.log('\nscaling rows (per-op cost beside a same-run baseline)');
  const ed = measure('Ed25519 verify', ed25519Verification(Buffer.alloc(512, 'eyJhbGciOiJFZERTQSJ9')));
  const edText = `Ed25519 verify ${ed.microsPerOp.toFixed(1)} µs`;
  chainDepth(ed.microsPerOp, edText);
  agents(ed.microsPerOp, edText);
  ledger();
  policies(ed.microsPerOp, edText);
}

/** A chain of `links` warrants whose depth budget allows it (the fixture's default budget is 5). */
function chainOf(links: number): ChainFixture {
  return buildChain(links, Math.floor(Date.now() / 1000), Math.max(5, links));
}

/** Re-signs `fixture` with its first link's `jti` set to `jti` (a distinct token text per agent). */
function withJti(fixture: ChainFixture, jti: string): void {
  (fixture.claims as { jti: string }[])[0]!.jti = jti;
  relink(fixture);
}

function chainDepth(edMicros: number, edText: string): void {
  for (const depth of [1, 3, 5, 8]) {
    const chain = chainOf(depth);
    const options = { keys: chain.keys.resolve, issuer: ISSUER, now: chain.now };
    const header = chain.tokens.join(', ');
    const cold = measure(`verify chain depth ${depth}`, () => verifyChain(chain.tokens, options));
    const cache = new ChainCache();
    const warm = measure(`cached chain depth ${depth}`, () => verifyChain(header, { ...options, cache }));
    scaling({
      figure: 'chain verification, cold / cached (µs)',
      size: `depth ${depth}`,
      measured: `${cold.microsPerOp.toFixed(1)} / ${warm.microsPerOp.toFixed(2)} µs (${(cold.microsPerOp / edMicros).toFixed(2)} × / ${(warm.microsPerOp / edMicros).toFixed(3)} × Ed25519)`,
      baseline: edText,
    });
  }
}

function agents(edMicros: number, edText: string): void {
  const base = chainOf(1);
  for (const count of [10, 10_000]) {
    // One single-link chain per agent (distinct jti → distinct token text), all in one gateway cache.
    const headers: string[] = [];
    for (let i = 0; i < count; i++) {
      withJti(base, `jti-agent-${i}`);
      headers.push(base.tokens[0]!);
    }
    const cache = new ChainCache(Math.max(10_000, count));
    const options = { keys: base.keys.resolve, issuer: ISSUER, now: base.now, cache };
    for (const h of headers) verifyChain(h, options);
    let i = 0;
    const m = measure(`cached chain, ${count} agents`, () => {
      verifyChain(headers[i]!, options);
      i = (i + 1) % count;
    });
    scaling({
      figure: 'gateway chain cache, distinct agents taking turns',
      size: `${count.toLocaleString('en-US')} agents`,
      measured: `${m.microsPerOp.toFixed(2)} µs per request (${(m.microsPerOp / edMicros).toFixed(3)} × Ed25519)`,
      baseline: edText,
    });
  }
}

function ledger(): void {
  const sha = measure('SHA-256 of 32 bytes', () => hash('sha256', new Uint8Array(32), 'buffer'));
  const sizes = LEDGER_FULL ? [10_000, 1_000_000] : [10_000];
  for (const n of sizes) {
    const tree = new MerkleTree();
    const block = new Uint8Array(32);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      block[0] = i & 0xff;
      block[1] = (i >>> 8) & 0xff;
      block[2] = (i >>> 16) & 0xff;
      tree.append(leafHash(block));
    }
    const appendMicros = ((performance.now() - t0) * 1000) / n;
    let k = 0;
    const proof = measure(`inclusion proof n=${n}`, () => {
      k = (k + 7919) % n;
      return tree.inclusionProof(k);
    });
    scaling({
      figure: 'ledger Merkle append / inclusion proof per record',
      size: `${n.toLocaleString('en-US')} records`,
      measured: `${appendMicros.toFixed(2)} / ${proof.microsPerOp.toFixed(2)} µs (${(appendMicros / sha.microsPerOp).toFixed(1)} × / ${(proof.microsPerOp / sha.microsPerOp).toFixed(1)} × SHA-256)`,
      baseline: `SHA-256 of 32 bytes ${sha.microsPerOp.toFixed(2)} µs`,
    });
  }
}

/** The shipped policies plus non-matching forbids up to `total` policies. */
function policySet(total: number) {
  const shipped = DEFAULT_POLICY_FILES.map((f) => readFileSync(f, 'utf8')).join('\n');
  const count = (shipped.match(/^(permit|forbid)\s*\(/gm) ?? []).length;
  const extra: string[] = [];
  for (let i = 0; i < total - count; i++)
    extra.push(
      `@id("pad-${i}")\nforbid (principal, action == Warrant::Action::"delegate", resource) when { context.task == "never-${i}" };`,
    );
  return loadPolicySet({
    policies: `${shipped}\n${extra.join('\n')}`,
    schema: readFileSync(DEFAULT_SCHEMA_FILE, 'utf8'),
    name: `bench-${total}`,
  });
}

const DELEGATE: AuthorizationRequest = {
  principal: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/planner' },
  action: { type: 'Warrant::Action', id: 'delegate' },
  resource: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/executor' },
  context: {
    grantAction: 'crm:read',
    grantResource: 'crm/*',
    dataClass: 'confidential',
    dataClassRank: 2,
    destinations: ['eu-west'],
    task: 'quarterly report',
    depth: 1,
    person: 'alice',
    maxAmount: -1,
  },
  entities: [
    {
      uid: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/planner' },
      attrs: { tier: 'planner', trustLevel: 2, owner: 'alice' },
      parents: [],
    },
    {
      uid: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/executor' },
      attrs: { tier: 'executor', trustLevel: 1, owner: 'alice' },
      parents: [],
    },
  ],
};

function policies(edMicros: number, edText: string): void {
  for (const total of [10, 1000]) {
    const set = policySet(total);
    const first = set.authorize(DELEGATE);
    if (first.decision !== 'allow') throw new Error(`policy set of ${total}: ${JSON.stringify(first)}`);
    const m = measure(`policy decision, ${total} policies`, () => set.authorize(DELEGATE));
    scaling({
      figure: 'policy decision (prepared Cedar, no cache)',
      size: `${total.toLocaleString('en-US')} policies`,
      measured: `${m.microsPerOp.toFixed(1)} µs (${(m.microsPerOp / edMicros).toFixed(2)} × Ed25519)`,
      baseline: edText,
    });
  }
}
