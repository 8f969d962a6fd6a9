import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { buildChain, type ChainFixture, ISSUER, relink, signRaw } from '../../../test/support/chains.ts';
import { ChainError } from '../errors.ts';
import { tokenHash } from '../jose/hash.ts';
import { generateSigningKey } from '../jose/jwk.ts';
import { signToken, type WarrantClaims } from '../tokens/index.ts';
import { ChainCache, verifyChain, verifyWarrant } from './verify-chain.ts';

const options = (f: ChainFixture, extra: Partial<Parameters<typeof verifyChain>[1]> = {}) => ({
  keys: f.keys.resolve,
  issuer: ISSUER,
  now: f.now,
  audience: f.claims.at(-1)!.aud,
  jkt: f.claims.at(-1)!.cnf.jkt,
  ...extra,
});

function rejects(f: ChainFixture, code: string, link?: number, extra = {}): void {
  assert.throws(
    () => verifyChain(f.tokens, options(f, extra)),
    (e: unknown) => {
      assert.ok(e instanceof ChainError, `expected ChainError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      if (link !== undefined) assert.equal(e.link, link, e.message);
      return true;
    },
  );
}

/** Replaces link i's claims, re-signs it and re-links every descendant so only the intended rule breaks. */
function mutate(f: ChainFixture, i: number, change: (c: WarrantClaims) => WarrantClaims): ChainFixture {
  f.claims[i] = change(structuredClone(f.claims[i]!));
  relink(f, i);
  return f;
}

describe('verifyChain', () => {
  for (const n of [1, 2, 3, 5]) {
    test(`accepts a valid ${n}-link chain and reports person, actors, txn`, () => {
      const f = buildChain(n);
      const chain = verifyChain(f.tokens, options(f));
      assert.equal(chain.links.length, n);
      assert.deepEqual(chain.person, { sub: 'alice@example.org', iss: 'https://idp.example.org' });
      assert.deepEqual(
        chain.actors,
        f.agents.slice(0, n).map((a) => a.id),
      );
      assert.equal(chain.txn, 'txn-7f3a');
      assert.equal(chain.leaf.compact, f.tokens.at(-1));
    });
  }

  test('accepts the Warrant-Chain header form with spaces after commas', () => {
    const f = buildChain(3);
    assert.equal(verifyChain(f.tokens.join(', '), options(f)).links.length, 3);
  });

  test('a changed prev hash breaks the link', () => {
    const f = buildChain(3);
    f.claims[2] = { ...f.claims[2]!, prev: f.claims[2]!.root! };
    f.tokens[2] = signToken('warrant', f.claims[2]!, f.issuerKey);
    rejects(f, 'WARRANT_CHAIN_LINK_BROKEN', 2);
  });

  test('reordered links are rejected', () => {
    const f = buildChain(4);
    [f.tokens[1], f.tokens[2]] = [f.tokens[2]!, f.tokens[1]!];
    rejects(f, 'WARRANT_CHAIN_LINK_BROKEN', 1);
  });

  test('a chain that does not start at a root is rejected', () => {
    const f = buildChain(3);
    f.tokens.shift();
    rejects(f, 'WARRANT_CHAIN_LINK_BROKEN', 0);
  });

  test('a spliced link from another chain (other txn) is rejected', () => {
    const f = buildChain(3);
    mutate(f, 1, (c) => ({ ...c, txn: 'txn-other' }));
    rejects(f, 'WARRANT_CHAIN_CONTEXT_MISMATCH', 1);
  });

  test('another person in the middle of the chain is rejected', () => {
    rejects(
      mutate(buildChain(3), 2, (c) => ({ ...c, sub: 'mallory@example.org' })),
      'WARRANT_CHAIN_CONTEXT_MISMATCH',
      2,
    );
  });

  test('an actor that is not the audience of the link before is rejected', () => {
    const f = mutate(buildChain(3), 1, (c) => ({
      ...c,
      act: { ...c.act, sub: 'spiffe://warrant.test/agent/intruder' },
    }));
    rejects(f, 'WARRANT_CHAIN_ACTOR_MISMATCH', 1);
  });

  test('a rewritten actor history is rejected', () => {
    const f = mutate(buildChain(3), 2, (c) => ({
      ...c,
      act: {
        sub: c.act.sub,
        act: { sub: c.act.act!.sub, act: { sub: 'spiffe://warrant.test/agent/ghost' } },
      },
    }));
    rejects(f, 'WARRANT_CHAIN_ACTOR_MISMATCH', 2);
  });

  test('widened grants are rejected', () => {
    const f = mutate(buildChain(3), 2, (c) => ({
      ...c,
      grants: [...c.grants, { action: 'admin:*', resource: '*' }],
    }));
    rejects(f, 'WARRANT_CHAIN_GRANT_WIDENED', 2);
  });

  test('a dropped constraint is rejected', () => {
    const f = mutate(buildChain(2), 1, (c) => ({
      ...c,
      grants: [{ action: 'crm:read', resource: 'crm/*' }],
    }));
    rejects(f, 'WARRANT_CHAIN_GRANT_WIDENED', 1);
  });

  test('a longer lifetime than the parent is rejected', () => {
    const f = mutate(buildChain(3), 2, (c) => ({ ...c, exp: f0exp(c) }));
    rejects(f, 'WARRANT_CHAIN_LIFETIME_EXTENDED', 2);
  });

  test('a child issued before its parent is rejected', () => {
    rejects(
      mutate(buildChain(2), 1, (c) => ({ ...c, iat: c.iat - 50 })),
      'WARRANT_CHAIN_LIFETIME_EXTENDED',
      1,
    );
  });

  test('depth beyond the budget is rejected', () => {
    const f = buildChain(3);
    mutate(f, 1, (c) => ({ ...c, max_depth: 1 }));
    // Link 2 at depth 2 under a budget of 1: signToken refuses to mint it, so sign it raw.
    const over = { ...f.claims[2]!, max_depth: 1, prev: tokenHash(f.tokens[1]!) };
    f.tokens[2] = signRaw({ typ: 'warrant+jwt' }, over as unknown as Record<string, unknown>, f.issuerKey);
    assert.throws(
      () => verifyChain(f.tokens, options(f)),
      (e: unknown) => e instanceof ChainError && e.code === 'WARRANT_CLAIM_INVALID' && e.link === 2,
    );
  });

  test('a growing depth budget is rejected', () => {
    const f = buildChain(3);
    f.claims.forEach((c, i) => {
      f.claims[i] = { ...c, max_depth: i === 2 ? 6 : 5 };
    });
    relink(f);
    rejects(f, 'WARRANT_CHAIN_DEPTH_EXCEEDED', 2);
  });

  test('delegation to an audience the parent does not allow is rejected', () => {
    const f = buildChain(3);
    mutate(f, 1, (c) => ({ ...c, may_delegate: false }));
    rejects(f, 'WARRANT_CHAIN_DELEGATION_FORBIDDEN', 2);
  });

  test('widening may_delegate is rejected', () => {
    const f = mutate(buildChain(2), 1, (c) => ({ ...c, may_delegate: { aud: ['*'] } }));
    rejects(f, 'WARRANT_CHAIN_DELEGATION_FORBIDDEN', 1);
  });

  test('a link signed by another key is rejected', () => {
    const f = buildChain(3);
    relink(f, 1, generateSigningKey());
    rejects(f, 'WARRANT_KEY_UNKNOWN', 1);
  });

  test('a warrant for another audience is rejected (confused deputy)', () => {
    rejects(buildChain(3), 'WARRANT_AUDIENCE_MISMATCH', 2, { audience: 'spiffe://warrant.test/agent/other' });
  });

  test('a presenter that is not the cnf key holder is rejected', () => {
    rejects(buildChain(3), 'WARRANT_CNF_MISMATCH', 2, { jkt: generateSigningKey().kid });
  });

  test('an expired chain is rejected, also when cached', () => {
    const f = buildChain(3);
    const cache = new ChainCache();
    verifyChain(f.tokens, options(f, { cache }));
    rejects(f, 'WARRANT_TOKEN_EXPIRED', undefined, { cache, now: f.now + 10_000 });
    rejects(f, 'WARRANT_TOKEN_EXPIRED', undefined, { now: f.now + 10_000 });
  });

  test('an empty or oversized chain is malformed', () => {
    const f = buildChain(1);
    assert.throws(() => verifyChain([], options(f)), { code: 'WARRANT_CHAIN_MALFORMED' });
    assert.throws(() => verifyChain('', options(f)), { code: 'WARRANT_CHAIN_MALFORMED' });
    assert.throws(() => verifyChain(Array(17).fill(f.tokens[0]).join(','), options(f)), {
      code: 'WARRANT_CHAIN_MALFORMED',
    });
  });

  test('a cached chain costs lookups only and still checks the context', () => {
    const f = buildChain(5);
    const cache = new ChainCache();
    verifyChain(f.tokens, options(f, { cache }));
    const before = cache.chains.hits;
    verifyChain(f.tokens, options(f, { cache }));
    assert.equal(cache.chains.hits, before + 1);
    rejects(f, 'WARRANT_AUDIENCE_MISMATCH', undefined, { cache, audience: 'https://elsewhere' });
  });

  test('a chain with a bad link is never cached as valid', () => {
    const f = buildChain(3);
    const cache = new ChainCache();
    mutate(f, 2, (c) => ({ ...c, txn: 'txn-x' }));
    rejects(f, 'WARRANT_CHAIN_CONTEXT_MISMATCH', 2, { cache });
    rejects(f, 'WARRANT_CHAIN_CONTEXT_MISMATCH', 2, { cache });
    assert.equal(cache.chains.size, 0);
  });

  test('a cached text answers only the exact same text: a forged chain sharing its tail is verified (and refused)', () => {
    const f = buildChain(3);
    const cache = new ChainCache();
    const header = f.tokens.join(', ');
    verifyChain(header, options(f, { cache }));
    // Same last link (same tail, so the same cache slot), a forged first link.
    const [root, hop, leaf] = f.tokens as [string, string, string];
    const forgedRoot = `${root.slice(0, -4)}${root.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const forged = [forgedRoot, hop, leaf].join(', ');
    assert.throws(() => verifyChain(forged, options(f, { cache })), ChainError);
    assert.equal(cache.texts.hits, 0);
    // The same for a single warrant whose text differs before its signature.
    verifyWarrant(leaf, options(f, { cache }));
    const [h, p, sig] = leaf.split('.') as [string, string, string];
    const forgedLeaf = [h, `${p.slice(0, -2)}${p.endsWith('QQ') ? 'Qg' : 'QQ'}`, sig].join('.');
    assert.throws(() => verifyWarrant(forgedLeaf, options(f, { cache })));
  });

  test('verifyWarrant checks a single leaf with audience and holder', () => {
    const f = buildChain(3);
    const cache = new ChainCache();
    const leaf = f.tokens[2]!;
    assert.equal(verifyWarrant(leaf, options(f, { cache })).hash.length, 43);
    assert.equal(verifyWarrant(leaf, options(f, { cache })).claims.depth, 2);
    assert.equal(cache.texts.hits, 1, 'the repeat is one lookup by text');
    assert.throws(() => verifyWarrant(leaf, options(f, { cache, jkt: f.agents[0]!.key.kid })), {
      code: 'WARRANT_CNF_MISMATCH',
    });
  });
});

const f0exp = (c: WarrantClaims) => c.exp + 1000;

describe('verifyChain properties', () => {
  type Mutation =
    | 'txn'
    | 'sub'
    | 'actor'
    | 'grants'
    | 'exp'
    | 'prev'
    | 'signature'
    | 'swap'
    | 'audience'
    | 'foreign-key';
  const expected: Record<Mutation, string> = {
    txn: 'WARRANT_CHAIN_CONTEXT_MISMATCH',
    sub: 'WARRANT_CHAIN_CONTEXT_MISMATCH',
    actor: 'WARRANT_CHAIN_ACTOR_MISMATCH',
    grants: 'WARRANT_CHAIN_GRANT_WIDENED',
    exp: 'WARRANT_CHAIN_LIFETIME_EXTENDED',
    prev: 'WARRANT_CHAIN_LINK_BROKEN',
    signature: 'WARRANT_JWS_SIGNATURE_INVALID',
    swap: 'WARRANT_CHAIN_LINK_BROKEN',
    audience: 'WARRANT_CHAIN_DELEGATION_FORBIDDEN',
    'foreign-key': 'WARRANT_KEY_UNKNOWN',
  };
  const chains = new Map<number, ChainFixture>();
  const fresh = (n: number): ChainFixture => {
    if (!chains.has(n)) chains.set(n, buildChain(n));
    const base = chains.get(n)!;
    return { ...base, claims: structuredClone(base.claims), tokens: [...base.tokens] };
  };

  test('any one mutated link of a random valid chain is rejected with the right code', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.constantFrom<Mutation>(...(Object.keys(expected) as Mutation[])),
        fc.nat(),
        (n, kind, seed) => {
          const f = fresh(n);
          const i = 1 + (seed % (n - 1));
          switch (kind) {
            case 'txn':
              mutate(f, i, (c) => ({ ...c, txn: `txn-${seed}` }));
              break;
            case 'sub':
              mutate(f, i, (c) => ({ ...c, sub: `p${seed}@example.org` }));
              break;
            case 'actor':
              mutate(f, i, (c) => ({ ...c, act: { ...c.act, sub: `spiffe://warrant.test/agent/x${seed}` } }));
              break;
            case 'grants':
              mutate(f, i, (c) => ({
                ...c,
                grants: c.grants.map((g) => ({
                  ...g,
                  constraints: { ...g.constraints, data_class: 'restricted' },
                })),
              }));
              break;
            case 'exp':
              mutate(f, i, (c) => ({ ...c, exp: f.claims[i - 1]!.exp + 1 + (seed % 100) }));
              break;
            case 'prev':
              f.claims[i] = {
                ...f.claims[i]!,
                prev: f.claims[i]!.root! === f.claims[i]!.prev ? 'A'.repeat(43) : f.claims[i]!.root!,
              };
              f.tokens[i] = signToken('warrant', f.claims[i]!, f.issuerKey);
              break;
            case 'signature': {
              const t = f.tokens[i]!;
              const dot = t.lastIndexOf('.');
              const pos = dot + 1 + (seed % 40);
              const ch = t[pos] === 'A' ? 'B' : 'A';
              f.tokens[i] = t.slice(0, pos) + ch + t.slice(pos + 1);
              break;
            }
            case 'swap': {
              const j = i === n - 1 ? i - 1 : i + 1;
              [f.tokens[i], f.tokens[j]] = [f.tokens[j]!, f.tokens[i]!];
              break;
            }
            case 'audience':
              mutate(f, i, (c) => ({ ...c, aud: `https://evil.example/${seed}` }));
              break;
            case 'foreign-key':
              relink(f, i, generateSigningKey());
              break;
          }
          assert.throws(
            () => verifyChain(f.tokens, { keys: f.keys.resolve, issuer: ISSUER, now: f.now }),
            (e: unknown) => e instanceof ChainError && e.code === expected[kind],
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('verifyChain text cache', () => {
  test('a repeated Warrant-Chain header is one lookup and is still checked for audience, key and time', () => {
    const f = buildChain(3);
    const cache = new ChainCache();
    const header = f.tokens.join(', ');
    verifyChain(header, options(f, { cache }));
    verifyChain(header, options(f, { cache }));
    assert.equal(cache.texts.hits, 1);
    assert.throws(() => verifyChain(header, options(f, { cache, audience: 'https://other' })), {
      code: 'WARRANT_AUDIENCE_MISMATCH',
    });
    assert.throws(() => verifyChain(header, options(f, { cache, jkt: f.agents[0]!.key.kid })), {
      code: 'WARRANT_CNF_MISMATCH',
    });
    assert.throws(() => verifyChain(header, options(f, { cache, now: f.now + 10_000 })), {
      code: 'WARRANT_TOKEN_EXPIRED',
    });
  });

  test('a header that failed is never cached', () => {
    const f = buildChain(3);
    const cache = new ChainCache();
    [f.tokens[1], f.tokens[2]] = [f.tokens[2]!, f.tokens[1]!];
    const header = f.tokens.join(',');
    assert.throws(() => verifyChain(header, options(f, { cache })), { code: 'WARRANT_CHAIN_LINK_BROKEN' });
    assert.equal(cache.texts.size, 0);
  });
});
