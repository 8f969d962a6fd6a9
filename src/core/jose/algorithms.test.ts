import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  createECDH,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { test } from 'node:test';
import { isWarrantError } from '../errors.ts';
import { countRequest, requestsInFlight } from '../load.ts';
import { ALGORITHMS } from './algorithms.ts';
import { importPublicJwk, type VerificationKey } from './jwk.ts';
import { type ParsedJws, type VerifyOptions, verifyParsed, verifyParsedAsync } from './jws.ts';

/** P-256 group order n and floor(n / 2). */
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const HALF_N = N >> 1n;

function sOf(signature: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`);
}

/** The same signature with s replaced by n - s: ECDSA's malleable twin. */
function twinOf(signature: Uint8Array): Uint8Array {
  const mirrored = Buffer.from((N - sOf(signature)).toString(16).padStart(64, '0'), 'hex');
  return Uint8Array.from(Buffer.concat([signature.subarray(0, 32), mirrored]));
}

/** A parsed JWS over raw `data` (its own signing input) with header `alg`. */
function rawJws(alg: string, data: Uint8Array, signature: Uint8Array): ParsedJws {
  return { compact: '', header: { alg }, payload: data, claims: {}, signingInput: data, signature };
}

/** What `verifyParsed` decides for a raw (message, signature) pair: `true`, or the error code. */
function verdict(
  key: VerificationKey,
  data: Uint8Array,
  signature: Uint8Array,
  options?: VerifyOptions,
): true | string {
  try {
    verifyParsed(rawJws(key.alg, data, signature), () => key, options);
    return true;
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    return error.code;
  }
}

/** `verdict` and what verifyParsedAsync (the thread-pool form) decides for the same input, which must agree. */
async function bothVerdicts(
  key: VerificationKey,
  data: Uint8Array,
  signature: Uint8Array,
  options?: VerifyOptions,
): Promise<true | string> {
  let asyncVerdict: true | string;
  try {
    await verifyParsedAsync(rawJws(key.alg, data, signature), () => key, options);
    asyncVerdict = true;
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    asyncVerdict = error.code;
  }
  const syncVerdict = verdict(key, data, signature, options);
  assert.equal(asyncVerdict, syncVerdict, 'verifyParsedAsync decides as verifyParsed does');
  return syncVerdict;
}

test('verifyParsedAsync decides exactly as verifyParsed: good, tampered, wrong length, high-s, unknown key, other alg', async () => {
  const es = importPublicJwk(p256.publicKey.export({ format: 'jwk' }), 'ES256');
  const ed = importPublicJwk(ed25519.publicKey.export({ format: 'jwk' }), 'EdDSA');
  const data = Buffer.from('the same decision on both paths');
  const esSig = ALGORITHMS.ES256.sign(p256.privateKey, data);
  const edSig = ALGORITHMS.EdDSA.sign(ed25519.privateKey, data);
  const flip = (s: Uint8Array) => Uint8Array.from(s, (b, i) => (i === 5 ? b ^ 1 : b));
  assert.equal(await bothVerdicts(es, data, esSig), true);
  assert.equal(await bothVerdicts(ed, data, edSig), true);
  assert.equal(await bothVerdicts(ed, data, flip(edSig)), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(await bothVerdicts(es, data, flip(esSig)), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(await bothVerdicts(ed, data, edSig.subarray(0, 63)), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(await bothVerdicts(es, data, twinOf(esSig)), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(await bothVerdicts(es, data, twinOf(esSig), { canonical: false }), true);
  // An EdDSA signature presented as ES256 for an Ed25519 key, and no key at all.
  const jws = rawJws('ES256', data, edSig);
  await assert.rejects(
    verifyParsedAsync(jws, () => ed),
    { code: 'WARRANT_JWS_ALG_NOT_ALLOWED' },
  );
  await assert.rejects(
    verifyParsedAsync(jws, () => undefined),
    { code: 'WARRANT_KEY_UNKNOWN' },
  );
});

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed25519 = generateKeyPairSync('ed25519');

test('ES256: 200 fresh signatures are all low-s and verify', () => {
  const { sign, verify } = ALGORITHMS.ES256;
  for (let i = 0; i < 200; i++) {
    const data = Buffer.from(`message ${i}`);
    const signature = sign(p256.privateKey, data);
    assert.equal(signature.length, 64);
    assert.ok(sOf(signature) <= HALF_N, `signature ${i} is high-s`);
    assert.ok(sOf(signature) > 0n);
    assert.equal(verify(p256.publicKey, data, signature), true);
    // The normalised signature is still an ordinary ECDSA signature for any verifier.
    assert.equal(
      nodeVerify('sha256', data, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, signature),
      true,
    );
  }
});

test('ES256: node on its own signs high-s about half the time, so the low-s result above is not luck', () => {
  // Guards the test above: without normalisation some of 200 raw signatures would be high-s.
  const data = Buffer.from('raw');
  let high = 0;
  for (let i = 0; i < 200; i++) {
    const raw = nodeSign('sha256', data, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    if (sOf(raw) > HALF_N) high++;
  }
  assert.ok(high > 0 && high < 200, `${high} of 200 raw signatures were high-s`);
});

test('ES256: the high-s twin verifies at the descriptor, is not canonical, and verifyParsed refuses it by default', () => {
  const { sign, verify, canonical } = ALGORITHMS.ES256;
  const key = importPublicJwk(p256.publicKey.export({ format: 'jwk' }), 'ES256');
  const data = Buffer.from('one signature, one encoding');
  for (let i = 0; i < 20; i++) {
    const signature = sign(p256.privateKey, data);
    const twin = twinOf(signature);
    assert.ok(sOf(twin) > HALF_N);
    // ECDSA itself accepts the twin, and so does the plain descriptor verify (external signers emit it).
    assert.equal(nodeVerify('sha256', data, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, twin), true);
    assert.equal(verify(p256.publicKey, data, twin), true);
    assert.equal(verify(p256.publicKey, data, signature), true);
    // Only the low-s one is the canonical encoding.
    assert.equal(canonical(signature), true);
    assert.equal(canonical(twin), false);
    // verifyParsed requires the canonical encoding unless told otherwise.
    assert.equal(verdict(key, data, signature), true);
    assert.equal(verdict(key, data, twin), 'WARRANT_JWS_SIGNATURE_INVALID');
    assert.equal(verdict(key, data, signature, { canonical: true }), true);
    assert.equal(verdict(key, data, twin, { canonical: true }), 'WARRANT_JWS_SIGNATURE_INVALID');
    assert.equal(verdict(key, data, signature, { canonical: false }), true);
    assert.equal(verdict(key, data, twin, { canonical: false }), true);
    // canonical: false does not loosen anything else: a tampered twin still fails.
    const tampered = Uint8Array.from(twin);
    tampered[0] = (tampered[0] as number) ^ 1;
    assert.equal(verdict(key, data, tampered, { canonical: false }), 'WARRANT_JWS_SIGNATURE_INVALID');
  }
});

test('canonical: the wrong length is never canonical for ES256', () => {
  const signature = ALGORITHMS.ES256.sign(p256.privateKey, Buffer.from('x'));
  assert.equal(ALGORITHMS.ES256.canonical(signature), true);
  assert.equal(ALGORITHMS.ES256.canonical(signature.subarray(0, 63)), false);
  assert.equal(ALGORITHMS.ES256.canonical(new Uint8Array(0)), false);
});

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

const hex32 = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, '0'), 'hex');

/**
 * A P-256 public key under which (r, s) is a valid signature of `data`, for a chosen s: pick the nonce
 * point R = kG (r = x(R) mod n), then d = r^-1 (s k - e) mod n makes s^-1 (eG + r dG) = R.
 */
function keyForChosenS(data: Uint8Array, s: bigint): { publicKey: KeyObject; signature: Uint8Array } {
  const k = 0x1234567890abcdefn;
  const nonce = createECDH('prime256v1');
  nonce.setPrivateKey(hex32(k));
  const r = BigInt(`0x${nonce.getPublicKey().subarray(1, 33).toString('hex')}`) % N;
  const e = BigInt(`0x${createHash('sha256').update(data).digest('hex')}`) % N;
  const d = (((modPow(r, N - 2n, N) * (s * k - e)) % N) + N) % N;
  const signer = createECDH('prime256v1');
  signer.setPrivateKey(hex32(d));
  const point = signer.getPublicKey();
  const publicKey = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  return { publicKey, signature: Uint8Array.from(Buffer.concat([hex32(r), hex32(s)])) };
}

test('ES256: the canonical boundary is floor(n / 2): s = (n - 1) / 2 is canonical, its twin s = (n + 1) / 2 is not', () => {
  const data = Buffer.from('boundary');
  const { publicKey, signature } = keyForChosenS(data, HALF_N);
  const twin = twinOf(signature);
  assert.equal(sOf(twin), HALF_N + 1n);
  const raw = (sig: Uint8Array) =>
    nodeVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  assert.equal(raw(signature), true);
  assert.equal(raw(twin), true);
  assert.equal(ALGORITHMS.ES256.verify(publicKey, data, signature), true);
  assert.equal(ALGORITHMS.ES256.verify(publicKey, data, twin), true);
  assert.equal(ALGORITHMS.ES256.canonical(signature), true);
  assert.equal(ALGORITHMS.ES256.canonical(twin), false);
  const key = importPublicJwk(publicKey.export({ format: 'jwk' }), 'ES256');
  assert.equal(verdict(key, data, signature), true);
  assert.equal(verdict(key, data, twin), 'WARRANT_JWS_SIGNATURE_INVALID');
  assert.equal(verdict(key, data, twin, { canonical: false }), true);
});

test('EdDSA: unaffected by the low-s rule; every signature is canonical', () => {
  const { sign, verify, canonical } = ALGORITHMS.EdDSA;
  for (let i = 0; i < 50; i++) {
    const data = Buffer.from(`ed message ${i}`);
    const signature = sign(ed25519.privateKey, data);
    assert.equal(signature.length, 64);
    assert.deepEqual(signature, Uint8Array.from(nodeSign(null, data, ed25519.privateKey)));
    assert.equal(verify(ed25519.publicKey, data, signature), true);
    assert.equal(canonical(signature), true);
  }
});

test('signAsync and verifyAsync (thread pool) agree with sign and verify, for both algorithms', async () => {
  const data = Buffer.from('eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0', 'latin1');
  for (const [alg, type] of [
    ['EdDSA', 'ed25519'],
    ['ES256', 'ec'],
  ] as const) {
    const { publicKey, privateKey } =
      type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
    const d = ALGORITHMS[alg];
    for (let i = 0; i < 20; i++) {
      const signature = await d.signAsync(privateKey, data);
      assert.equal(signature.length, d.signatureLength, alg);
      assert.ok(d.canonical(signature), `${alg}: the async signature is canonical (low-s for ES256)`);
      assert.ok(d.verify(publicKey, data, signature), alg);
      assert.equal(await d.verifyAsync(publicKey, data, signature), true, alg);
      const tampered = Uint8Array.from(signature);
      tampered[10] = (tampered[10] as number) ^ 1;
      assert.equal(await d.verifyAsync(publicKey, data, tampered), false, `${alg}: a changed signature`);
      assert.equal(
        await d.verifyAsync(publicKey, Buffer.from('other'), signature),
        false,
        `${alg}: other data`,
      );
    }
  }
});

test('the async forms compute inline with one request in flight and on the pool with more: same results, same refusals', async () => {
  const { EventEmitter } = await import('node:events');
  const data = Buffer.from('placement does not change the answer');
  const before = requestsInFlight.count;
  const responses = [new EventEmitter(), new EventEmitter()];
  const outcomes: unknown[][] = [];
  for (const inFlight of [1, 2]) {
    while (requestsInFlight.count - before < inFlight)
      countRequest(responses[requestsInFlight.count - before]!);
    const edSig = await ALGORITHMS.EdDSA.signAsync(ed25519.privateKey, data);
    const esSig = await ALGORITHMS.ES256.signAsync(p256.privateKey, data);
    if (inFlight === 1) {
      // Inline: settled before the event loop turns (a pool job cannot be).
      let done = false;
      void ALGORITHMS.EdDSA.verifyAsync(ed25519.publicKey, data, edSig).then(() => (done = true));
      await Promise.resolve();
      await Promise.resolve();
      assert.equal(done, true, 'computed inline with one request in flight');
    }
    assert.equal(ALGORITHMS.ES256.canonical(esSig), true, 'the pool form normalises s too');
    const tampered = Uint8Array.from(edSig, (b, i) => (i === 0 ? b ^ 1 : b));
    outcomes.push([
      Buffer.from(edSig).toString('hex'), // Ed25519 is deterministic: the same bytes either way
      await ALGORITHMS.EdDSA.verifyAsync(ed25519.publicKey, data, edSig),
      await ALGORITHMS.EdDSA.verifyAsync(ed25519.publicKey, data, tampered),
      await ALGORITHMS.ES256.verifyAsync(p256.publicKey, data, esSig),
      await ALGORITHMS.ES256.verifyAsync(p256.publicKey, data, twinOf(esSig)),
      await ALGORITHMS.EdDSA.signAsync(ed25519.publicKey, data).then(
        () => 'signed',
        () => 'refused',
      ),
    ]);
  }
  assert.deepEqual(outcomes[0], outcomes[1]);
  assert.deepEqual(outcomes[0]!.slice(1), [true, false, true, true, 'refused']);
  for (const r of responses) r.emit('close');
  assert.equal(requestsInFlight.count, before, 'a closed response is no longer counted');
});
