/**
 * The runtime-neutral core of `warrant/verify` in a real browser: Chromium (playwright-core, Debian's
 * /usr/bin/chromium) loads `src/verify/neutral/index.ts` and everything it imports as plain ES modules —
 * each TypeScript file served with its types stripped, nothing bundled, no shims, no import map — and
 * verifies a real signed chain with WebCrypto, and refuses a tampered one, inside the page. A node built-in
 * anywhere in the module graph would fail the import.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { stripTypeScriptTypes } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, resolve, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { verifyChain } from '../../src/core/chain/index.ts';
import { createDpopProof } from '../../src/core/dpop/index.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { KeySet } from '../../src/core/jose/key-set.ts';
import { buildChain, relink } from '../support/chains.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';

let server: Server;
let origin: string;
let browser: Browser | undefined;
/** Every URL the page asked the server for. */
const requested: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requested.push(path);
    if (path === '/')
      return void res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>verify</title>');
    const file = resolve(ROOT, `.${path}`);
    if (!file.startsWith(`${ROOT}${sep}src${sep}`) || !file.endsWith('.ts') || !existsSync(file))
      return void res.writeHead(404).end();
    const js = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' });
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (existsSync(CHROMIUM))
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
});

after(async () => {
  await browser?.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

interface PageResult {
  readonly inBrowser: boolean;
  readonly digest?: string;
  readonly actors?: readonly string[];
  readonly person?: { sub: string; iss: string };
  readonly refused: (string | undefined)[];
}

test('Chromium verifies a real chain (EdDSA and ES256 issuers) and refuses tampered ones, in the page', {
  skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}`,
}, async () => {
  for (const alg of ['EdDSA', 'ES256'] as const) {
    const fixture = buildChain(3);
    const issuerKey = alg === 'EdDSA' ? fixture.issuerKey : generateSigningKey('ES256');
    if (alg === 'ES256') relink(fixture, 0, issuerKey);
    const keys = new KeySet([issuerKey]);
    const options = {
      issuer: 'https://sts.warrant.test',
      audience: fixture.agents[3]!.id,
      jkt: fixture.agents[2]!.key.kid,
      now: fixture.now,
    };
    const expected = verifyChain(fixture.tokens, { ...options, keys: keys.resolve });
    const [h, p, s] = fixture.tokens[1]!.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'));
    const tamperedLink = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'mallory' })).toString('base64url')}.${s}`;
    const page = await browser!.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${origin}/`);
      const result = (await page.evaluate(
        async ({ jwks, tokens, tamperedLink, options }) => {
          const m = await import('/src/verify/neutral/index.ts' as string);
          const keys = await m.importJwks(jwks);
          const ok = await m.verifyChain(tokens, { ...options, keys });
          const refusal = async (chain: string[], extra: Record<string, unknown> = {}) => {
            try {
              await m.verifyChain(chain, { ...options, ...extra, keys });
              return undefined;
            } catch (e) {
              return (e as { code?: string }).code;
            }
          };
          return {
            inBrowser: typeof (globalThis as { process?: unknown }).process === 'undefined',
            digest: ok.digest,
            actors: ok.actors,
            person: ok.person,
            refused: [
              await refusal([tokens[0], tamperedLink, tokens[2]]),
              await refusal([tokens[0], tokens[2]]),
              await refusal(tokens, { audience: 'https://elsewhere.test' }),
              await refusal(tokens, { now: options.now + 3600 }),
            ],
          };
        },
        { jwks: keys.toJwks(), tokens: fixture.tokens, tamperedLink, options },
      )) as PageResult;
      assert.deepEqual(errors, []);
      assert.equal(result.inBrowser, true, 'no Node globals in the page');
      assert.equal(result.digest, expected.digest, `${alg}: the same chain digest as the Node verifier`);
      assert.deepEqual(result.actors, expected.actors);
      assert.deepEqual(result.person, expected.person);
      assert.deepEqual(result.refused, [
        'WARRANT_JWS_SIGNATURE_INVALID',
        'WARRANT_CHAIN_LINK_BROKEN',
        'WARRANT_AUDIENCE_MISMATCH',
        'WARRANT_TOKEN_EXPIRED',
      ]);
    } finally {
      await page.close();
    }
  }
  // The page loaded the neutral modules and the core's shared rules, and asked for nothing else.
  assert.ok(requested.includes('/src/verify/neutral/verify-chain.ts'));
  assert.ok(requested.includes('/src/core/chain/chain-rules.ts'));
  assert.ok(!requested.some((r) => r.includes('node:') || r.includes('/jose/hash.ts')), requested.join(' '));
});

test('Chromium verifies a whole presentation (DPoP proof + chain + revocation) and refuses its replay, in the page', {
  skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}`,
}, async () => {
  const fixture = buildChain(2);
  const holder = fixture.agents[1]!.key;
  const token = fixture.tokens[1]!;
  const htu = 'https://orders.warrant.test/orders/7';
  const proof = createDpopProof({ key: holder, htm: 'GET', htu, accessToken: token, now: fixture.now });
  const page = await browser!.newPage();
  try {
    await page.goto(`${origin}/`);
    const result = (await page.evaluate(
      async ({ jwks, token, chain, proof, htu, audience, now }) => {
        const m = await import('/src/verify/neutral/index.ts' as string);
        const { MemoryReplayCache } = await import('/src/core/dpop/memory-replay-cache.ts' as string);
        const options = {
          issuer: 'https://sts.warrant.test',
          keys: await m.importJwks(jwks),
          audience,
          replay: new MemoryReplayCache({ now: () => now }),
          revocation: { has: () => true, ensure: async () => {}, check: () => 'valid' },
          now,
        };
        const request = {
          method: 'GET',
          htu,
          headers: { authorization: [`DPoP ${token}`], dpop: [proof], 'warrant-chain': [chain] },
        };
        const ok = await m.verifyPresented(request, options);
        let replayed: string | undefined;
        try {
          await m.verifyPresented(request, options);
        } catch (e) {
          replayed = (e as { code?: string }).code;
        }
        return { jkt: ok.proof.jkt, person: ok.chain.person.sub, replayed };
      },
      {
        jwks: fixture.keys.toJwks(),
        token,
        chain: fixture.tokens.join(', '),
        proof,
        htu,
        audience: fixture.agents[2]!.id,
        now: fixture.now,
      },
    )) as { jkt: string; person: string; replayed: string | undefined };
    assert.equal(result.jkt, holder.kid);
    assert.equal(result.person, 'alice@example.org');
    assert.equal(result.replayed, 'WARRANT_DPOP_REPLAYED');
  } finally {
    await page.close();
  }
});
