/**
 * `verifyPresented`: what any recipient checks of a presented warrant, on fake requests (no server): the
 * DPoP proof, the warrant or its whole chain for this audience and key, every link's revocation status —
 * each refusal a precise code, each "cannot check" a fail-closed code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentId, buildChain, ISSUER } from '../../test/support/chains.ts';
import { ChainCache } from '../core/chain/index.ts';
import { createDpopProof } from '../core/dpop/index.ts';
import { WarrantError } from '../core/errors.ts';
import {
  HotStateUnavailableError,
  MemoryReplayCache,
  type ReplayCache,
  ReplayStateLostError,
} from '../replay/index.ts';
import type { RevocationState, RevocationStatus } from './revocation-view.ts';
import {
  CredentialsMissingError,
  type PresentedRequest,
  type VerifyPresentedOptions,
  verifyPresented,
} from './verify-presented.ts';

const HTU = 'https://gw.example.org/crm/contacts';
const fixture = buildChain(3);
/** The leaf (link 2) is held by agent 2 and addressed to agent 3. */
const leaf = fixture.tokens[2]!;
const holder = fixture.agents[2]!.key;
const audience = agentId(3);

/** Revocation that answers `state` for every link (and records what it was asked). */
function revocation(state: RevocationState | ((hash: string) => RevocationState) = 'valid') {
  const asked: string[] = [];
  const ensured: string[] = [];
  const view: RevocationStatus & { asked: string[]; ensured: string[] } = {
    asked,
    ensured,
    has: (uri) => ensured.includes(uri),
    ensure: async (uri) => void ensured.push(uri),
    check: (hash) => {
      asked.push(hash);
      return typeof state === 'function' ? state(hash) : state;
    },
  };
  return view;
}

function options(overrides: Partial<VerifyPresentedOptions> = {}): VerifyPresentedOptions {
  return {
    issuer: ISSUER,
    keys: fixture.keys.resolve,
    audience,
    replay: new MemoryReplayCache(),
    revocation: revocation(),
    now: fixture.now,
    ...overrides,
  };
}

/** A request presenting `token` with a fresh proof (headers as `req.headersDistinct` gives them). */
function request(
  headers: Record<string, string[]> = {},
  { token = leaf, method = 'GET', htu = HTU } = {},
): PresentedRequest {
  const proof = createDpopProof({ key: holder, htm: method, htu, accessToken: token, now: fixture.now });
  return { method, htu, headers: { authorization: [`DPoP ${token}`], dpop: [proof], ...headers } };
}

async function refusal(promise: Promise<unknown>): Promise<WarrantError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WarrantError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

describe('verifyPresented accepts', () => {
  test('a DPoP-bound warrant for this audience: leaf, token, presenter key and proof', async () => {
    const r = revocation();
    const presented = await verifyPresented(request(), options({ revocation: r }));
    assert.equal(presented.token, leaf);
    assert.equal(presented.leaf.claims.aud, audience);
    assert.equal(presented.chain, undefined);
    assert.equal(presented.proof.jkt, holder.kid);
    assert.equal(presented.presenter.x, holder.jwk.x);
    assert.deepEqual(r.asked, [presented.leaf.hash], 'the warrant’s revocation status was checked');
    assert.deepEqual(r.ensured, [`${ISSUER}/status/1`], 'its status list was loaded on first sight');
  });

  test('a whole Warrant-Chain ending with the presented warrant: every link is checked for revocation', async () => {
    const r = revocation();
    const chain = fixture.tokens.join(', ');
    const presented = await verifyPresented(
      request({ 'warrant-chain': [chain] }),
      options({ revocation: r }),
    );
    assert.equal(presented.chain?.links.length, 3);
    assert.equal(r.asked.length, 3);
  });

  test('a repeat presentation is answered from the cache (audience and key still re-checked)', async () => {
    const cache = new ChainCache();
    await verifyPresented(request(), options({ cache }));
    await verifyPresented(request(), options({ cache }));
    assert.equal(cache.texts.hits, 1);
    const other = await refusal(verifyPresented(request(), options({ cache, audience: agentId(9) })));
    assert.equal(other.code, 'WARRANT_AUDIENCE_MISMATCH');
  });
});

describe('verifyPresented refuses', () => {
  test('no Authorization at all: CredentialsMissingError (a bare challenge)', async () => {
    const e = await refusal(verifyPresented({ method: 'GET', htu: HTU, headers: {} }, options()));
    assert.ok(e instanceof CredentialsMissingError);
    assert.equal(e.code, 'WARRANT_CREDENTIALS_MISSING');
  });

  test('a bearer warrant: WARRANT_CREDENTIALS_MISSING, not the bare kind', async () => {
    const e = await refusal(verifyPresented(request({ authorization: [`Bearer ${leaf}`] }), options()));
    assert.equal(e.code, 'WARRANT_CREDENTIALS_MISSING');
    assert.ok(!(e instanceof CredentialsMissingError));
  });

  test('a repeated Authorization (also joined into one line) or Warrant-Chain: WARRANT_REQUEST_MALFORMED', async () => {
    const cases: Record<string, string[]>[] = [
      { authorization: [`DPoP ${leaf}`, `DPoP ${leaf}`] },
      { authorization: [`DPoP ${leaf}, DPoP ${leaf}`] },
      { 'warrant-chain': [fixture.tokens.join(', '), fixture.tokens.join(', ')] },
    ];
    for (const headers of cases) {
      const e = await refusal(verifyPresented(request(headers), options()));
      assert.equal(e.code, 'WARRANT_REQUEST_MALFORMED', Object.keys(headers)[0]);
    }
  });

  test('no DPoP proof, or more than one: WARRANT_DPOP_INVALID', async () => {
    const proof = request().headers['dpop']![0]!;
    for (const dpop of [undefined, [proof, proof], [`${proof},${proof}`]]) {
      const r = request();
      const headers = { ...r.headers, dpop };
      const e = await refusal(verifyPresented({ ...r, headers }, options()));
      assert.equal(e.code, 'WARRANT_DPOP_INVALID');
    }
  });

  test('a proof for another URI, and a proof used twice', async () => {
    const other = request({}, { htu: 'https://gw.example.org/other' });
    const e = await refusal(verifyPresented({ ...other, htu: HTU }, options()));
    assert.equal(e.code, 'WARRANT_DPOP_HTU_MISMATCH');
    const replay = new MemoryReplayCache();
    const once = request();
    await verifyPresented(once, options({ replay }));
    assert.equal((await refusal(verifyPresented(once, options({ replay })))).code, 'WARRANT_DPOP_REPLAYED');
  });

  test('a replay cache that cannot answer, or lost its memory: the hot-state codes pass through', async () => {
    const down: ReplayCache = { consume: () => Promise.reject(new HotStateUnavailableError()) };
    assert.equal(
      (await refusal(verifyPresented(request(), options({ replay: down })))).code,
      'WARRANT_HOT_STATE_UNAVAILABLE',
    );
    const lost: ReplayCache = { consume: () => Promise.reject(new ReplayStateLostError(fixture.now)) };
    assert.equal(
      (await refusal(verifyPresented(request(), options({ replay: lost })))).code,
      'WARRANT_REPLAY_STATE_LOST',
    );
  });

  test('a warrant for another audience, or a chain that does not end with the presented warrant', async () => {
    const e = await refusal(verifyPresented(request(), options({ audience: 'https://tools.example.org/x' })));
    assert.equal(e.code, 'WARRANT_AUDIENCE_MISMATCH');
    // Another valid chain to the same recipient and holder (issued a second later): not the one presented.
    const another = buildChain(3, fixture.now - 1).tokens.join(', ');
    const c = await refusal(verifyPresented(request({ 'warrant-chain': [another] }), options()));
    assert.equal(c.code, 'WARRANT_CHAIN_MALFORMED');
    assert.match(c.message, /does not end with the presented warrant/);
  });

  test('a revoked ancestor: WARRANT_TOKEN_REVOKED; stale status: WARRANT_STATUS_STALE (fail closed)', async () => {
    const chain = { 'warrant-chain': [fixture.tokens.join(', ')] };
    const rootHash = (await verifyPresented(request(chain), options())).chain!.root.hash;
    const revoked = revocation((hash) => (hash === rootHash ? 'revoked' : 'valid'));
    assert.equal(
      (await refusal(verifyPresented(request(chain), options({ revocation: revoked })))).code,
      'WARRANT_TOKEN_REVOKED',
    );
    assert.equal(
      (await refusal(verifyPresented(request(), options({ revocation: revocation('stale') })))).code,
      'WARRANT_STATUS_STALE',
    );
  });
});
