import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { ALGORITHMS } from '../jose/algorithms.ts';
import { encode } from '../jose/base64url.ts';
import { tokenHash } from '../jose/hash.ts';
import { exportPrivateJwk, generateSigningKey, type SigningKey } from '../jose/jwk.ts';
import { signCompact } from '../jose/jws.ts';
import {
  type CreateDpopProofOptions,
  createDpopProof,
  DpopError,
  DpopNonces,
  MAX_DPOP_PROOF_LENGTH,
  MemoryReplayCache,
  type ReplayCache,
  ReplayStateLostError,
  type VerifyDpopProofOptions,
  verifyDpopProof,
} from './index.ts';

const now = 1_900_000_000;
const htu = 'https://api.example/tools/run';
const ed = generateSigningKey();
const ec = generateSigningKey('ES256');
const other = generateSigningKey();
const accessToken = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln';

const publicJwk = (key: SigningKey) =>
  key.jwk.kty === 'OKP'
    ? { kty: 'OKP', crv: 'Ed25519', x: key.jwk.x }
    : { kty: 'EC', crv: 'P-256', x: key.jwk.x, y: key.jwk.y };

const newReplay = () => new MemoryReplayCache({ now: () => now, sweepIntervalMs: 0 });
const opts = (extra: Partial<VerifyDpopProofOptions> = {}): VerifyDpopProofOptions => ({
  htm: 'POST',
  htu,
  now,
  replay: newReplay(),
  ...extra,
});
const proof = (extra: Partial<CreateDpopProofOptions> = {}) =>
  createDpopProof({ key: ed, htm: 'POST', htu, now, ...extra });

let jtis = 0;
/** Signs exactly the header and claims given (defaults filled in) with `signer`, whatever the header says. */
function forge(
  header: Record<string, unknown>,
  claims: Record<string, unknown> = {},
  signer: SigningKey = ed,
): string {
  const h = encode(JSON.stringify({ typ: 'dpop+jwt', alg: signer.alg, jwk: publicJwk(signer), ...header }));
  const p = encode(JSON.stringify({ jti: `forged-${++jtis}`, htm: 'POST', htu, iat: now, ...claims }));
  return `${h}.${p}.${encode(ALGORITHMS[signer.alg].sign(signer.privateKey, Buffer.from(`${h}.${p}`, 'latin1')))}`;
}

const rejects = (p: unknown, o: VerifyDpopProofOptions, code: string, message?: RegExp) =>
  assert.rejects(verifyDpopProof(p, o), (e: unknown) => {
    assert.ok(e instanceof DpopError, `expected DpopError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });

/** A replay cache that records what it was asked. */
function spyReplay(): ReplayCache & { calls: Array<[string, number, number]> } {
  const inner = newReplay();
  const calls: Array<[string, number, number]> = [];
  return {
    calls,
    consume: (key, exp, validFrom) => {
      calls.push([key, exp, validFrom]);
      return inner.consume(key, exp, validFrom);
    },
  };
}

describe('verifyDpopProof: valid proofs', () => {
  for (const key of [ed, ec]) {
    test(`a ${key.alg} proof round-trips and reports the key thumbprint`, async () => {
      const result = await verifyDpopProof(
        createDpopProof({ key, htm: 'POST', htu, now, accessToken }),
        opts({ accessToken, expectedJkt: key.kid }),
      );
      assert.equal(result.jkt, key.kid);
      assert.equal(result.iat, now);
      assert.match(result.jti, /^[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(result.jwk, publicJwk(key));
    });
  }

  test('the request URI query and fragment are ignored', async () => {
    await verifyDpopProof(proof(), opts({ htu: `${htu}?page=2#top` }));
  });

  test('default port and case are normalized on both sides', async () => {
    const p = forge({}, { htm: 'GET', htu: 'HTTPS://Example.COM:443/a' });
    await verifyDpopProof(p, opts({ htm: 'GET', htu: 'https://example.com/a' }));
    const q = forge({}, { htm: 'GET', htu: 'http://example.com/a' });
    await verifyDpopProof(q, opts({ htm: 'GET', htu: 'HTTP://EXAMPLE.com:80/a?x=1' }));
  });

  test('iat at the edges of the window is accepted (60 s max age, 5 s tolerance)', async () => {
    await verifyDpopProof(proof({ now: now - 65 }), opts());
    await verifyDpopProof(proof({ now: now + 5 }), opts());
  });

  test('jti is recorded per key for the window the proof is usable in (iat − 5 s to iat + 65 s)', async () => {
    const replay = spyReplay();
    const p = proof();
    const { jti } = await verifyDpopProof(p, opts({ replay }));
    assert.deepEqual(replay.calls, [[`dpop:${ed.kid}:${jti}`, now + 65, now - 5]]);
  });

  test('a replay store that lost its memory after the proof became usable refuses it with its own code', async () => {
    const forgetful: ReplayCache = {
      consume: async () => {
        throw new ReplayStateLostError(now * 1000);
      },
    };
    await assert.rejects(verifyDpopProof(proof(), opts({ replay: forgetful })), (e: unknown) => {
      assert.ok(e instanceof ReplayStateLostError);
      assert.equal(e.code, 'WARRANT_REPLAY_STATE_LOST');
      return true;
    });
  });

  test('the same jti under two different keys is two proofs', async () => {
    const replay = newReplay();
    await verifyDpopProof(proof({ jti: 'shared' }), opts({ replay }));
    await verifyDpopProof(
      createDpopProof({ key: other, htm: 'POST', htu, now, jti: 'shared' }),
      opts({ replay }),
    );
  });

  test('a high-s ES256 proof (the (r, n - s) twin of a valid one) is accepted: no low-s rule for clients', async () => {
    // Most ECDSA signers (WebCrypto, jose, Go) do not normalise s; a proof is single-use by jti, so its
    // hash is not an identifier and a high-s signature is as good as its low-s twin.
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    const p = createDpopProof({ key: ec, htm: 'POST', htu, now, accessToken });
    const [h, c, s] = p.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    const sValue = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    const highS = n - sValue;
    assert.ok(highS > n >> 1n, 'the twin is high-s');
    const twinSig = Buffer.concat([
      sig.subarray(0, 32),
      Buffer.from(highS.toString(16).padStart(64, '0'), 'hex'),
    ]);
    const twin = `${h}.${c}.${encode(twinSig)}`;
    assert.notEqual(twin, p);
    assert.equal(ALGORITHMS.ES256.canonical(twinSig), false);
    const result = await verifyDpopProof(twin, opts({ accessToken, expectedJkt: ec.kid }));
    assert.equal(result.jkt, ec.kid);
    // Still single-use by jti: once either encoding is accepted, the other is a replay.
    const replay = newReplay();
    await verifyDpopProof(p, opts({ accessToken, replay }));
    await rejects(twin, opts({ accessToken, replay }), 'WARRANT_DPOP_REPLAYED');
  });
});

describe('verifyDpopProof: request binding', () => {
  test('a wrong htm is WARRANT_DPOP_HTM_MISMATCH', async () => {
    await rejects(proof({ htm: 'GET' }), opts(), 'WARRANT_DPOP_HTM_MISMATCH');
    await rejects(proof({ htm: 'post' }), opts(), 'WARRANT_DPOP_HTM_MISMATCH');
  });

  test('an htu of another path is WARRANT_DPOP_HTU_MISMATCH', async () => {
    await rejects(proof({ htu: 'https://api.example/tools/other' }), opts(), 'WARRANT_DPOP_HTU_MISMATCH');
  });

  test('an htu of another host, scheme or port is WARRANT_DPOP_HTU_MISMATCH', async () => {
    await rejects(proof({ htu: 'https://evil.example/tools/run' }), opts(), 'WARRANT_DPOP_HTU_MISMATCH');
    await rejects(proof({ htu: 'http://api.example/tools/run' }), opts(), 'WARRANT_DPOP_HTU_MISMATCH');
    await rejects(proof({ htu: 'https://api.example:8443/tools/run' }), opts(), 'WARRANT_DPOP_HTU_MISMATCH');
  });

  test('an htu carrying a query or fragment is WARRANT_DPOP_HTU_MISMATCH', async () => {
    await rejects(
      forge({}, { htu: `${htu}?x=1` }),
      opts({ htu: `${htu}?x=1` }),
      'WARRANT_DPOP_HTU_MISMATCH',
      /query/,
    );
    await rejects(forge({}, { htu: `${htu}?` }), opts(), 'WARRANT_DPOP_HTU_MISMATCH');
    await rejects(forge({}, { htu: `${htu}#f` }), opts(), 'WARRANT_DPOP_HTU_MISMATCH');
  });

  test('an htu that is not an absolute http(s) URI is WARRANT_DPOP_INVALID', async () => {
    await rejects(forge({}, { htu: '/tools/run' }), opts(), 'WARRANT_DPOP_INVALID');
    await rejects(forge({}, { htu: 'https://user@api.example/tools/run' }), opts(), 'WARRANT_DPOP_INVALID');
  });
});

describe('verifyDpopProof: freshness', () => {
  test('an iat older than max age plus tolerance is WARRANT_DPOP_STALE', async () => {
    await rejects(proof({ now: now - 66 }), opts(), 'WARRANT_DPOP_STALE');
  });

  test('an iat beyond the tolerance in the future is WARRANT_DPOP_STALE', async () => {
    await rejects(proof({ now: now + 6 }), opts(), 'WARRANT_DPOP_STALE');
  });

  test('an exp already past, or an nbf in the future, is WARRANT_DPOP_STALE (the clock rules of every JWT)', async () => {
    await rejects(forge({}, { exp: now - 31 }), opts(), 'WARRANT_DPOP_STALE', /past its `exp`/);
    await rejects(forge({}, { nbf: now + 30 }), opts(), 'WARRANT_DPOP_STALE', /before its `nbf`/);
    await rejects(forge({}, { exp: 'soon' }), opts(), 'WARRANT_DPOP_INVALID', /exp/);
    await verifyDpopProof(forge({}, { exp: now + 30, nbf: now - 1 }), opts());
  });

  test('a missing or non-numeric iat is WARRANT_DPOP_INVALID', async () => {
    await rejects(forge({}, { iat: undefined }), opts(), 'WARRANT_DPOP_INVALID');
    await rejects(forge({}, { iat: String(now) }), opts(), 'WARRANT_DPOP_INVALID');
  });

  test('the same proof twice is WARRANT_DPOP_REPLAYED', async () => {
    const o = opts();
    const p = proof();
    await verifyDpopProof(p, o);
    await rejects(p, o, 'WARRANT_DPOP_REPLAYED');
  });

  test('a proof that fails any other check does not consume its jti', async () => {
    const replay = spyReplay();
    const p = proof({ accessToken });
    await rejects(p, opts({ replay, htm: 'GET' }), 'WARRANT_DPOP_HTM_MISMATCH');
    await rejects(p, opts({ replay, accessToken: 'another' }), 'WARRANT_DPOP_ATH_MISMATCH');
    await rejects(p, opts({ replay, accessToken, expectedJkt: other.kid }), 'WARRANT_DPOP_KEY_MISMATCH');
    assert.equal(replay.calls.length, 0);
    await verifyDpopProof(p, opts({ replay, accessToken }));
  });

  test('a replay cache that fails makes the proof fail (closed)', async () => {
    const broken: ReplayCache = { consume: () => Promise.reject(new Error('redis down')) };
    await assert.rejects(verifyDpopProof(proof(), opts({ replay: broken })), /redis down/);
  });
});

describe('verifyDpopProof: access token binding (ath)', () => {
  test('a missing ath when a token is presented is WARRANT_DPOP_ATH_MISMATCH', async () => {
    await rejects(proof(), opts({ accessToken }), 'WARRANT_DPOP_ATH_MISMATCH');
  });

  test('an ath of another token is WARRANT_DPOP_ATH_MISMATCH', async () => {
    await rejects(
      proof({ accessToken: `${accessToken}x` }),
      opts({ accessToken }),
      'WARRANT_DPOP_ATH_MISMATCH',
    );
    await rejects(forge({}, { ath: 42 }), opts({ accessToken }), 'WARRANT_DPOP_ATH_MISMATCH');
  });

  test('an ath when no token is presented is WARRANT_DPOP_ATH_MISMATCH', async () => {
    await rejects(proof({ accessToken }), opts(), 'WARRANT_DPOP_ATH_MISMATCH');
  });

  test('ath is the base64url SHA-256 of the token ASCII', async () => {
    await verifyDpopProof(forge({}, { ath: tokenHash(accessToken) }), opts({ accessToken }));
  });
});

describe('verifyDpopProof: key binding (cnf.jkt)', () => {
  test('a proof key other than the token cnf.jkt is WARRANT_DPOP_KEY_MISMATCH', async () => {
    await rejects(proof(), opts({ expectedJkt: other.kid }), 'WARRANT_DPOP_KEY_MISMATCH');
    await rejects(proof(), opts({ expectedJkt: ed.kid.slice(1) }), 'WARRANT_DPOP_KEY_MISMATCH');
  });
});

describe('verifyDpopProof: server nonces', () => {
  const nonces = new DpopNonces();

  test('a missing nonce when the server requires one is WARRANT_DPOP_NONCE_REQUIRED', async () => {
    await rejects(proof(), opts({ nonce: nonces }), 'WARRANT_DPOP_NONCE_REQUIRED');
  });

  test('an old nonce is WARRANT_DPOP_NONCE_REQUIRED', async () => {
    await rejects(
      proof({ nonce: nonces.issue(now - 120) }),
      opts({ nonce: nonces }),
      'WARRANT_DPOP_NONCE_REQUIRED',
    );
  });

  test('a nonce of another server secret is WARRANT_DPOP_NONCE_REQUIRED', async () => {
    await rejects(
      proof({ nonce: new DpopNonces().issue(now) }),
      opts({ nonce: nonces }),
      'WARRANT_DPOP_NONCE_REQUIRED',
    );
  });

  test('a current or previous-window nonce is accepted', async () => {
    await verifyDpopProof(proof({ nonce: nonces.issue(now) }), opts({ nonce: nonces }));
    await verifyDpopProof(proof({ nonce: nonces.issue(now - 60) }), opts({ nonce: nonces }));
  });

  test('a nonce is ignored when the server does not require one, but must be a string', async () => {
    await verifyDpopProof(proof({ nonce: 'whatever' }), opts());
    await rejects(forge({}, { nonce: 7 }), opts(), 'WARRANT_DPOP_INVALID');
  });
});

describe('verifyDpopProof: header and signature', () => {
  test('a proof signed by another key than its header jwk is WARRANT_DPOP_INVALID', async () => {
    await rejects(forge({ jwk: publicJwk(ed) }, {}, other), opts(), 'WARRANT_DPOP_INVALID', /signature/);
  });

  test('a tampered payload is WARRANT_DPOP_INVALID', async () => {
    const [h, , s] = proof().split('.');
    const p = encode(JSON.stringify({ jti: 'x', htm: 'POST', htu, iat: now }));
    await rejects(`${h}.${p}.${s}`, opts(), 'WARRANT_DPOP_INVALID', /signature/);
  });

  test('a header jwk with a private member d is WARRANT_DPOP_INVALID', async () => {
    await rejects(forge({ jwk: exportPrivateJwk(ed) }), opts(), 'WARRANT_DPOP_INVALID', /private/);
    await rejects(
      forge({ jwk: { ...publicJwk(ec), d: exportPrivateJwk(ec).d } }, {}, ec),
      opts(),
      'WARRANT_DPOP_INVALID',
    );
  });

  test('a missing or malformed header jwk is WARRANT_DPOP_INVALID', async () => {
    await rejects(forge({ jwk: undefined }), opts(), 'WARRANT_DPOP_INVALID');
    await rejects(forge({ jwk: [publicJwk(ed)] }), opts(), 'WARRANT_DPOP_INVALID');
    await rejects(forge({ jwk: { ...publicJwk(ed), x: 'short' } }), opts(), 'WARRANT_DPOP_INVALID');
  });

  test('a header alg that does not match the jwk key type is WARRANT_DPOP_INVALID', async () => {
    await rejects(forge({ alg: 'ES256' }), opts(), 'WARRANT_DPOP_INVALID');
  });

  test('typ JWT (or none, or another case) is WARRANT_DPOP_INVALID', async () => {
    await rejects(forge({ typ: 'JWT' }), opts(), 'WARRANT_DPOP_INVALID', /typ/);
    await rejects(forge({ typ: undefined }), opts(), 'WARRANT_DPOP_INVALID', /typ/);
    await rejects(forge({ typ: 'DPoP+JWT' }), opts(), 'WARRANT_DPOP_INVALID', /typ/);
  });

  test('alg none is WARRANT_DPOP_INVALID', async () => {
    const h = encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk(ed) }));
    const p = encode(JSON.stringify({ jti: 'n', htm: 'POST', htu, iat: now }));
    await rejects(`${h}.${p}.`, opts(), 'WARRANT_DPOP_INVALID');
    await rejects(`${h}.${p}.${encode(new Uint8Array(64))}`, opts(), 'WARRANT_DPOP_INVALID', /alg/);
  });

  test('alg HS256 is WARRANT_DPOP_INVALID', async () => {
    const h = encode(
      JSON.stringify({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: encode('secret') } }),
    );
    const p = encode(JSON.stringify({ jti: 'h', htm: 'POST', htu, iat: now }));
    const s = createHmac('sha256', 'secret').update(`${h}.${p}`).digest('base64url');
    await rejects(`${h}.${p}.${s}`, opts(), 'WARRANT_DPOP_INVALID', /alg/);
  });

  test('an alg outside the configured allowlist is WARRANT_DPOP_INVALID', async () => {
    await rejects(proof(), opts({ algorithms: ['ES256'] }), 'WARRANT_DPOP_INVALID', /alg/);
  });

  test('an embedded kid is WARRANT_DPOP_INVALID', async () => {
    const p = signCompact(
      { typ: 'dpop+jwt', jwk: publicJwk(ed) },
      { jti: 'k', htm: 'POST', htu, iat: now },
      ed,
    );
    await rejects(p, opts(), 'WARRANT_DPOP_INVALID', /kid/);
  });

  for (const name of ['jku', 'x5u', 'x5c', 'crit']) {
    test(`a header ${name} is WARRANT_DPOP_INVALID`, async () => {
      await rejects(
        forge({ [name]: name === 'crit' ? ['exp'] : 'https://evil.example/' }),
        opts(),
        'WARRANT_DPOP_INVALID',
        name === 'crit' ? /critical extensions/ : /header parameter/,
      );
    });
  }

  test('non-canonical base64url is WARRANT_DPOP_INVALID', async () => {
    // The '-'/'_' to '+'/'/' variant below needs a signature containing one of them: draw fresh proofs
    // (random jti, so a new signature) until one does. About 1 in 15 signatures has neither.
    let p = proof();
    for (let i = 0; i < 200 && !/[-_]/.test(p.split('.')[2] as string); i++) p = proof();
    const [h, c, s] = p.split('.') as [string, string, string];
    assert.match(s, /[-_]/);
    const standardAlphabet = s.replaceAll('-', '+').replaceAll('_', '/');
    assert.notEqual(standardAlphabet, s);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 64 signature bytes leave 4 unused bits in the last character: setting one keeps the bytes.
    const flipped = s.slice(0, -1) + alphabet[alphabet.indexOf(s.at(-1)!) ^ 1];
    assert.deepEqual(Buffer.from(flipped, 'base64url'), Buffer.from(s, 'base64url'));
    await rejects(`${h}.${c}.${flipped}`, opts(), 'WARRANT_DPOP_INVALID', /base64url/);
    await rejects(`${h}.${c}.${s}==`, opts(), 'WARRANT_DPOP_INVALID');
    await rejects(`${h}.${c}.${standardAlphabet}`, opts(), 'WARRANT_DPOP_INVALID', /base64url/);
    await rejects(`${h} .${c}.${s}`, opts(), 'WARRANT_DPOP_INVALID');
    // The untouched proof still verifies: nothing above consumed its jti.
    await verifyDpopProof(p, opts());
  });

  test('a duplicate header member is WARRANT_DPOP_INVALID', async () => {
    const h = encode(
      `{"typ":"dpop+jwt","alg":"EdDSA","jwk":${JSON.stringify(publicJwk(ed))},"typ":"dpop+jwt"}`,
    );
    const p = encode(JSON.stringify({ jti: 'd', htm: 'POST', htu, iat: now }));
    const s = encode(ALGORITHMS.EdDSA.sign(ed.privateKey, Buffer.from(`${h}.${p}`, 'latin1')));
    await rejects(`${h}.${p}.${s}`, opts(), 'WARRANT_DPOP_INVALID');
  });

  test('a proof longer than 4 KiB is WARRANT_DPOP_INVALID', async () => {
    const p = forge({}, { pad: 'x'.repeat(MAX_DPOP_PROOF_LENGTH) });
    await rejects(p, opts(), 'WARRANT_DPOP_INVALID', /too long/);
  });

  test('not a three-segment string is WARRANT_DPOP_INVALID', async () => {
    for (const bad of [undefined, 42, '', 'a.b', 'a.b.c.d', `${proof()}.`])
      await rejects(bad, opts(), 'WARRANT_DPOP_INVALID');
  });

  test('a jti that is missing, empty or over 256 characters is WARRANT_DPOP_INVALID', async () => {
    for (const jti of [undefined, '', 'j'.repeat(257), 7])
      await rejects(forge({}, { jti }), opts(), 'WARRANT_DPOP_INVALID', /jti/);
  });
});

describe('verifyDpopProof: caller mistakes', () => {
  test('invalid options are TypeErrors', async () => {
    const p = proof();
    await assert.rejects(verifyDpopProof(p, { ...opts(), replay: undefined as never }), TypeError);
    await assert.rejects(verifyDpopProof(p, opts({ htu: '/relative' })), TypeError);
    await assert.rejects(verifyDpopProof(p, opts({ htm: '' })), TypeError);
    await assert.rejects(verifyDpopProof(p, opts({ maxAgeSeconds: 0 })), TypeError);
    await assert.rejects(verifyDpopProof(p, opts({ algorithms: ['HS256' as never] })), TypeError);
    await assert.rejects(verifyDpopProof(p, opts({ nonce: {} as never })), TypeError);
  });
});
