import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildChain, type ChainFixture, relink } from '../../../test/support/chains.ts';
import { verifyChain as coreVerifyChain, type VerifiedChain } from '../../core/chain/index.ts';
import { verifyDpopProof as coreVerifyDpopProof, createDpopProof } from '../../core/dpop/index.ts';
import { MemoryReplayCache } from '../../core/dpop/memory-replay-cache.ts';
import { WarrantError } from '../../core/errors.ts';
import { decode as coreDecode, encode as coreEncode } from '../../core/jose/base64url.ts';
import { generateSigningKey } from '../../core/jose/jwk.ts';
import { KeySet } from '../../core/jose/key-set.ts';
import {
  decode,
  encode,
  importJwks,
  type NeutralVerifiedChain,
  verifyDpopProof as neutralVerifyDpopProof,
  verifyPresented as neutralVerifyPresented,
  verifyChain,
  verifyWarrant,
} from './index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');

/** Every module the neutral entry reaches, by following relative imports (type-only imports included). */
function moduleGraph(entry: string): { files: string[]; external: string[] } {
  const seen = new Set<string>();
  const external: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(
      /\b(?:import|export)\b[^'";]*?\bfrom\s*'([^']+)'|\bimport\s*\(?\s*'([^']+)'/g,
    )) {
      const specifier = (m[1] ?? m[2])!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else external.push(`${file.slice(ROOT.length + 1)} → ${specifier}`);
    }
  };
  visit(entry);
  return { files: [...seen].map((f) => f.slice(ROOT.length + 1)), external };
}

test('the neutral entry reaches no node built-in and no package, through any module', () => {
  const { files, external } = moduleGraph(resolve(HERE, 'index.ts'));
  assert.deepEqual(external, []);
  // It does reach the shared rules (so they cannot drift): claims, chain rules, clock rules.
  for (const shared of [
    'src/core/tokens/claims.ts',
    'src/core/chain/chain-rules.ts',
    'src/core/tokens/token-checks.ts',
  ])
    assert.ok(files.includes(shared), shared);
});

test('base64url: the neutral codec agrees with the core on canonical and non-canonical text', () => {
  for (const bytes of [[], [0], [255, 254], [1, 2, 3], [0, 0, 0, 0], [250, 251, 252, 253, 254]]) {
    const u = Uint8Array.from(bytes);
    assert.equal(encode(u), coreEncode(u));
    assert.deepEqual(decode(coreEncode(u)), coreDecode(coreEncode(u)));
  }
  for (const bad of ['QQ==', 'QR', 'Q', 'a b', 'ab+/', 'QUJ', 'QUK']) {
    const core = (() => {
      try {
        coreDecode(bad);
        return 'ok';
      } catch (e) {
        return (e as WarrantError).code;
      }
    })();
    const neutral = (() => {
      try {
        decode(bad);
        return 'ok';
      } catch (e) {
        return (e as WarrantError).code;
      }
    })();
    assert.equal(neutral, core, bad);
  }
});

/** The code both verifiers answer for one case, or a summary of the chain they both accept. */
async function both(
  fixture: ChainFixture,
  tokens: readonly string[],
  overrides: { audience?: string; jkt?: string; now?: number; keys?: KeySet } = {},
): Promise<{ core: unknown; neutral: unknown }> {
  const keys = overrides.keys ?? fixture.keys;
  const leafIndex = fixture.claims.length - 1;
  const options = {
    issuer: 'https://sts.warrant.test',
    audience: overrides.audience ?? fixture.agents[leafIndex + 1]!.id,
    jkt: overrides.jkt ?? fixture.agents[leafIndex]!.key.kid,
    now: overrides.now ?? fixture.now,
  };
  const summary = (c: VerifiedChain | NeutralVerifiedChain) => ({
    digest: c.digest,
    hashes: c.links.map((l) => l.hash),
    actors: c.actors,
    person: c.person,
    txn: c.txn,
    exp: c.exp,
  });
  const outcome = async (fn: () => Promise<VerifiedChain | NeutralVerifiedChain>) => {
    try {
      return summary(await fn());
    } catch (e) {
      if (!(e instanceof WarrantError)) throw e;
      return e.code;
    }
  };
  const neutralKeys = await importJwks(keys.toJwks());
  return {
    core: await outcome(async () => coreVerifyChain(tokens, { ...options, keys: keys.resolve })),
    neutral: await outcome(() => verifyChain(tokens, { ...options, keys: neutralKeys })),
  };
}

describe('the neutral chain verifier answers as the core one', () => {
  const tamper = (token: string, change: (c: Record<string, unknown>) => void): string => {
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(coreDecode(p!)));
    change(claims);
    return `${h}.${coreEncode(JSON.stringify(claims))}.${s}`;
  };
  const cases: [string, (f: ChainFixture) => Promise<{ core: unknown; neutral: unknown }>, string | 'ok'][] =
    [
      ['a valid three-link chain', (f) => both(f, f.tokens), 'ok'],
      [
        'a valid single root',
        (f) => both(f, f.tokens.slice(0, 1), { audience: f.agents[1]!.id, jkt: f.agents[0]!.key.kid }),
        'ok',
      ],
      [
        'a link changed after signing',
        (f) => both(f, [f.tokens[0]!, tamper(f.tokens[1]!, (c) => (c['sub'] = 'mallory')), f.tokens[2]!]),
        'WARRANT_JWS_SIGNATURE_INVALID',
      ],
      [
        'another audience',
        (f) => both(f, f.tokens, { audience: 'https://elsewhere.test' }),
        'WARRANT_AUDIENCE_MISMATCH',
      ],
      [
        'another presenter key',
        (f) => both(f, f.tokens, { jkt: f.agents[0]!.key.kid }),
        'WARRANT_CNF_MISMATCH',
      ],
      ['expired', (f) => both(f, f.tokens, { now: f.now + 3600 }), 'WARRANT_TOKEN_EXPIRED'],
      [
        'reordered links',
        (f) => both(f, [f.tokens[1]!, f.tokens[0]!, f.tokens[2]!]),
        'WARRANT_CHAIN_LINK_BROKEN',
      ],
      ['a link dropped', (f) => both(f, [f.tokens[0]!, f.tokens[2]!]), 'WARRANT_CHAIN_LINK_BROKEN'],
      [
        'an untrusted issuer key',
        (f) => both(f, f.tokens, { keys: new KeySet([generateSigningKey('EdDSA')]) }),
        'WARRANT_KEY_UNKNOWN',
      ],
      [
        'a padded segment',
        (f) => both(f, [f.tokens[0]!, f.tokens[1]!, `${f.tokens[2]!}=`]),
        'WARRANT_JWS_MALFORMED',
      ],
    ];
  for (const [name, run, expected] of cases) {
    test(name, async () => {
      const { core, neutral } = await run(buildChain(3));
      assert.deepEqual(neutral, core);
      if (expected === 'ok') assert.equal(typeof core, 'object');
      else assert.equal(core, expected);
    });
  }

  test('an ES256 issuer: valid, and its high-s twin refused by both', async () => {
    const f = buildChain(2);
    const es = generateSigningKey('ES256');
    relink(f, 0, es);
    const keys = new KeySet([es]);
    const ok = await both(f, f.tokens, { keys });
    assert.deepEqual(ok.neutral, ok.core);
    assert.equal(typeof ok.core, 'object');
    // (r, n - s) verifies as ECDSA but is not the canonical encoding of a Warrant token.
    const [h, p, s] = f.tokens[1]!.split('.');
    const sig = coreDecode(s!);
    const order = coreDecode('_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE');
    let borrow = 0;
    for (let i = 31; i >= 0; i--) {
      const diff = order[i]! - sig[32 + i]! - borrow;
      borrow = diff < 0 ? 1 : 0;
      sig[32 + i] = diff & 0xff;
    }
    const high = await both(f, [f.tokens[0]!, `${h}.${p}.${coreEncode(sig)}`], { keys });
    assert.deepEqual(high.neutral, high.core);
    assert.equal(high.core, 'WARRANT_JWS_SIGNATURE_INVALID');
  });

  test('verifyWarrant checks one warrant for this recipient and presenter', async () => {
    const f = buildChain(1);
    const keys = await importJwks(f.keys.toJwks());
    const options = { keys, issuer: 'https://sts.warrant.test', audience: f.agents[1]!.id, now: f.now };
    const w = await verifyWarrant(f.tokens[0]!, { ...options, jkt: f.agents[0]!.key.kid });
    assert.equal(w.claims.sub, 'alice@example.org');
    await assert.rejects(verifyWarrant(f.tokens[0]!, { ...options, jkt: f.agents[1]!.key.kid }), {
      code: 'WARRANT_CNF_MISMATCH',
    });
  });
});

describe('the neutral DPoP and presentation verifiers answer as the core ones', () => {
  const URL_ = 'https://orders.warrant.test/orders/7';
  const codeOf = async (fn: () => Promise<unknown>): Promise<string> => {
    try {
      await fn();
      return 'ok';
    } catch (e) {
      if (!(e instanceof WarrantError)) throw e;
      return e.code;
    }
  };
  const f = buildChain(2);
  const holder = f.agents[1]!.key;
  const token = f.tokens[1]!;
  const proofs: [string, () => string, { htm?: string; htu?: string; now?: number }, string][] = [
    [
      'a valid proof',
      () => createDpopProof({ key: holder, htm: 'GET', htu: URL_, accessToken: token, now: f.now }),
      {},
      'ok',
    ],
    [
      'another method',
      () => createDpopProof({ key: holder, htm: 'POST', htu: URL_, accessToken: token, now: f.now }),
      {},
      'WARRANT_DPOP_HTM_MISMATCH',
    ],
    [
      'another URI',
      () => createDpopProof({ key: holder, htm: 'GET', htu: `${URL_}/x`, accessToken: token, now: f.now }),
      {},
      'WARRANT_DPOP_HTU_MISMATCH',
    ],
    [
      'another token',
      () => createDpopProof({ key: holder, htm: 'GET', htu: URL_, accessToken: f.tokens[0]!, now: f.now }),
      {},
      'WARRANT_DPOP_ATH_MISMATCH',
    ],
    [
      'too old',
      () => createDpopProof({ key: holder, htm: 'GET', htu: URL_, accessToken: token, now: f.now - 600 }),
      {},
      'WARRANT_DPOP_STALE',
    ],
    [
      'a changed signature',
      () => {
        const p = createDpopProof({ key: holder, htm: 'GET', htu: URL_, accessToken: token, now: f.now });
        const [h, c, s] = p.split('.');
        const sig = coreDecode(s!);
        sig[0] = sig[0]! ^ 1;
        return `${h}.${c}.${coreEncode(sig)}`;
      },
      {},
      'WARRANT_DPOP_INVALID',
    ],
  ];
  for (const [name, make, _o, expected] of proofs) {
    test(`DPoP: ${name}`, async () => {
      const proof = make();
      const options = { htm: 'GET', htu: URL_, accessToken: token, now: f.now };
      const core = await codeOf(() =>
        coreVerifyDpopProof(proof, { ...options, replay: new MemoryReplayCache() }),
      );
      const neutral = await codeOf(() =>
        neutralVerifyDpopProof(proof, { ...options, replay: new MemoryReplayCache() }),
      );
      assert.equal(neutral, core);
      assert.equal(core, expected);
    });
  }

  test('a whole presentation: DPoP + chain + revocation; replay, revoked and stale refused', async () => {
    const keys = await importJwks(f.keys.toJwks());
    let state: 'valid' | 'revoked' | 'stale' = 'valid';
    const revocation = { has: () => true, ensure: async () => {}, check: () => state };
    const replay = new MemoryReplayCache();
    const options = {
      issuer: 'https://sts.warrant.test',
      keys,
      audience: f.agents[2]!.id,
      replay,
      revocation,
      now: f.now,
    };
    const request = (proof: string) => ({
      method: 'GET',
      htu: URL_,
      headers: { authorization: [`DPoP ${token}`], dpop: [proof], 'warrant-chain': [f.tokens.join(', ')] },
    });
    const proof = createDpopProof({ key: holder, htm: 'GET', htu: URL_, accessToken: token, now: f.now });
    const ok = await neutralVerifyPresented(request(proof), options);
    assert.equal(ok.chain?.actors.length, 2);
    assert.equal(
      await codeOf(() => neutralVerifyPresented(request(proof), options)),
      'WARRANT_DPOP_REPLAYED',
    );
    state = 'revoked';
    const fresh = () =>
      createDpopProof({ key: holder, htm: 'GET', htu: URL_, accessToken: token, now: f.now });
    assert.equal(
      await codeOf(() => neutralVerifyPresented(request(fresh()), options)),
      'WARRANT_TOKEN_REVOKED',
    );
    state = 'stale';
    assert.equal(
      await codeOf(() => neutralVerifyPresented(request(fresh()), options)),
      'WARRANT_STATUS_STALE',
    );
    assert.equal(
      await codeOf(() => neutralVerifyPresented({ method: 'GET', htu: URL_, headers: {} }, options)),
      'WARRANT_CREDENTIALS_MISSING',
    );
  });
});
