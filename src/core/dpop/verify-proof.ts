import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { JwsError, WarrantError } from '../errors.ts';
import { ALGORITHMS, type Alg, algOf, isAlg } from '../jose/algorithms.ts';
import { tokenHash } from '../jose/hash.ts';
import { importPublicJwk, type PublicJwk, type VerificationKey } from '../jose/jwk.ts';
import { type ParsedJws, parseCompact } from '../jose/jws.ts';
import { DPOP_TYP } from '../tokens/token-types.ts';
import { checkTimes } from '../tokens/verify-token.ts';
import { DpopError } from './errors.ts';
import { hasQueryOrFragment, htuForm } from './htu.ts';
import { publicJwkMembers } from './public-jwk.ts';
import type { ReplayCache } from './replay-cache.ts';

/** Hard cap on a DPoP proof (characters): a header with one public key and six short claims. */
export const MAX_DPOP_PROOF_LENGTH = 4096;

/** Header parameters a DPoP proof must not carry: the key is the `jwk`, and nothing else may point at one. */
const FORBIDDEN_PROOF_HEADER_PARAMETERS = [
  'kid',
  'jku',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'crit',
  'b64',
] as const;

/** JWK members that only a private (or symmetric) key has. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Server nonces (RFC 9449 §8); `DpopNonces` is one. */
export interface DpopNonceChecker {
  check(nonce: string, now: number): boolean;
}

export interface VerifyDpopProofOptions {
  /** The request method. */
  htm: string;
  /** The request URI as received (absolute); its query and fragment are ignored. */
  htu: string;
  /** The access token presented with the proof; when given, `ath` is required and must match it. */
  accessToken?: string;
  /** The token's `cnf.jkt`: the proof key must have this RFC 7638 thumbprint. */
  expectedJkt?: string;
  /** Epoch seconds (default: the clock). */
  now?: number;
  /** How old a proof may be (default 60 s). */
  maxAgeSeconds?: number;
  /** Clock skew allowed either way (default 5 s). */
  clockTolerance?: number;
  /** When given, a valid server nonce is required. */
  nonce?: DpopNonceChecker | undefined;
  /** Records each accepted `jti` until the proof could no longer be fresh. */
  replay: ReplayCache;
  /** Accepted proof algorithms (default EdDSA and ES256). */
  algorithms?: readonly Alg[];
}

export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof key: what `cnf.jkt` binds to. */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  /** The public members of the proof key. */
  readonly jwk: PublicJwk;
}

interface ParsedProof {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

const invalid = (message: string, cause?: unknown): DpopError =>
  new DpopError('WARRANT_DPOP_INVALID', message, cause === undefined ? undefined : { cause });

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The one strict compact parser every JWT goes through (canonical base64url, UTF-8 JSON objects without
 * duplicate members, no `crit`, `b64` or key locators), with the proof's embedded `jwk` allowed.
 */
function parseProof(proof: unknown, algorithms: readonly Alg[]): ParsedProof {
  if (typeof proof !== 'string' || proof.length === 0) throw invalid('proof is not a string');
  if (proof.length > MAX_DPOP_PROOF_LENGTH) throw invalid('proof is too long');
  let parsed: ParsedJws;
  try {
    parsed = parseCompact(proof, { embeddedJwk: true, maxLength: MAX_DPOP_PROOF_LENGTH });
  } catch (cause) {
    if (cause instanceof JwsError && cause.code === 'WARRANT_JWS_ALG_NOT_ALLOWED')
      throw invalid('header alg is not allowed', cause);
    throw invalid(`proof is not a strict compact JWS: ${(cause as Error).message}`, cause);
  }
  if (!algorithms.includes(algOf(parsed.header['alg'])!)) throw invalid('header alg is not allowed');
  return {
    header: parsed.header as Record<string, unknown>,
    claims: parsed.claims as Record<string, unknown>,
    signingInput: parsed.signingInput,
    signature: parsed.signature,
  };
}

function checkHeader(header: Record<string, unknown>, algorithms: readonly Alg[]): VerificationKey {
  if (header['typ'] !== DPOP_TYP) throw invalid(`header typ is not ${DPOP_TYP}`);
  const alg = algOf(header['alg']);
  if (alg === undefined || !algorithms.includes(alg)) throw invalid('header alg is not allowed');
  for (const name of FORBIDDEN_PROOF_HEADER_PARAMETERS) {
    if (Object.hasOwn(header, name))
      throw invalid(`header parameter ${name} is not accepted in a DPoP proof`);
  }
  const jwk = header['jwk'];
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalid('header jwk is missing');
  for (const name of PRIVATE_JWK_MEMBERS) {
    if (Object.hasOwn(jwk, name)) throw invalid('header jwk carries a private key member');
  }
  // Importing a JWK costs a good part of a signature check; a client proves the same key on every call.
  const cacheKey = `${alg} ${JSON.stringify(jwk)}`;
  const cached = importedKeys.get(cacheKey);
  if (cached) return cached;
  try {
    const key = importPublicJwk(jwk, alg);
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.clear();
    importedKeys.set(cacheKey, key);
    return key;
  } catch (cause) {
    throw invalid('header jwk is not a public key for its alg', cause);
  }
}

const MAX_IMPORTED_KEYS = 10_000;
const importedKeys = new Map<string, VerificationKey>();

/**
 * Plain descriptor verification, with no canonical-encoding (low-s) check: clients' ECDSA signers commonly
 * emit high-s, and a proof is single-use by `jti`, so its hash is not an identifier.
 */
async function checkSignature(proof: ParsedProof, key: VerificationKey): Promise<void> {
  const descriptor = ALGORITHMS[key.alg];
  if (proof.signature.length !== descriptor.signatureLength) throw invalid('signature has the wrong length');
  let ok = false;
  try {
    // On the thread pool: a DPoP proof is verified on every gateway request (see AlgorithmDescriptor).
    ok = await descriptor.verifyAsync(key.keyObject, proof.signingInput, proof.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw invalid('signature does not verify under the header jwk');
}

interface Checked {
  htm: string;
  htu: string;
  accessToken: string | undefined;
  expectedJkt: string | undefined;
  now: number;
  maxAgeSeconds: number;
  clockTolerance: number;
  nonce: DpopNonceChecker | undefined;
  replay: ReplayCache;
  algorithms: readonly Alg[];
}

/** Caller mistakes are TypeErrors, raised before any proof is looked at. */
function checkOptions(options: VerifyDpopProofOptions): Checked {
  if (!options || typeof options !== 'object') throw new TypeError('options are required');
  const {
    htm,
    htu,
    accessToken,
    expectedJkt,
    now = Math.floor(Date.now() / 1000),
    maxAgeSeconds = 60,
    clockTolerance = 5,
    nonce,
    replay,
    algorithms = ['EdDSA', 'ES256'],
  } = options;
  if (typeof htm !== 'string' || htm.length === 0) throw new TypeError('htm must be the request method');
  const form = typeof htu === 'string' ? htuForm(htu) : undefined;
  if (form === undefined) throw new TypeError('htu must be the absolute http(s) request URI');
  if (accessToken !== undefined && (typeof accessToken !== 'string' || accessToken.length === 0)) {
    throw new TypeError('accessToken must be a non-empty string');
  }
  if (expectedJkt !== undefined && (typeof expectedJkt !== 'string' || expectedJkt.length === 0)) {
    throw new TypeError('expectedJkt must be a non-empty string');
  }
  if (!Number.isFinite(now)) throw new TypeError('now must be epoch seconds');
  if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) throw new TypeError('maxAgeSeconds must be > 0');
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0)
    throw new TypeError('clockTolerance must be >= 0');
  if (nonce !== undefined && typeof nonce?.check !== 'function')
    throw new TypeError('nonce must have a check(nonce, now) method');
  if (!replay || typeof replay.consume !== 'function') throw new TypeError('replay must be a ReplayCache');
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every(isAlg)) {
    throw new TypeError('algorithms must be a non-empty list of EdDSA/ES256');
  }
  return {
    htm,
    htu: form,
    accessToken,
    expectedJkt,
    now,
    maxAgeSeconds,
    clockTolerance,
    nonce,
    replay,
    algorithms,
  };
}

function checkClaims(claims: Record<string, unknown>, o: Checked): { jti: string; iat: number } {
  const { jti, htm, htu, iat, ath, nonce } = claims;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    throw invalid('jti is not a string of 1..256 characters');
  if (typeof htm !== 'string') throw invalid('htm is not a string');
  if (htm !== o.htm) throw new DpopError('WARRANT_DPOP_HTM_MISMATCH');
  if (typeof htu !== 'string') throw invalid('htu is not a string');
  if (hasQueryOrFragment(htu))
    throw new DpopError('WARRANT_DPOP_HTU_MISMATCH', 'htu must not carry a query or fragment');
  const form = htuForm(htu);
  if (form === undefined) throw invalid('htu is not an absolute http(s) URI');
  if (form !== o.htu) throw new DpopError('WARRANT_DPOP_HTU_MISMATCH');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('iat is not a number');
  if (iat < o.now - o.maxAgeSeconds - o.clockTolerance)
    throw new DpopError('WARRANT_DPOP_STALE', 'proof is too old');
  if (iat > o.now + o.clockTolerance)
    throw new DpopError('WARRANT_DPOP_STALE', 'proof is issued in the future');
  // A proof needs no exp or nbf; when it has them, the clock rules every JWT obeys apply.
  for (const name of ['exp', 'nbf'] as const) {
    const value = claims[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value)))
      throw invalid(`${name} is not a number`);
  }
  try {
    checkTimes(
      { iat, exp: claims['exp'] as number | undefined, nbf: claims['nbf'] as number | undefined },
      { now: o.now, clockTolerance: o.clockTolerance },
    );
  } catch (cause) {
    if (cause instanceof WarrantError)
      throw new DpopError('WARRANT_DPOP_STALE', `proof is outside its validity: ${cause.message}`, { cause });
    throw cause;
  }
  if (o.accessToken !== undefined) {
    if (typeof ath !== 'string')
      throw new DpopError('WARRANT_DPOP_ATH_MISMATCH', 'ath is required with an access token');
    if (!safeEqual(ath, tokenHash(o.accessToken))) throw new DpopError('WARRANT_DPOP_ATH_MISMATCH');
  } else if (ath !== undefined) {
    // A proof made for a token-bearing request is not reused where no token is presented.
    throw new DpopError('WARRANT_DPOP_ATH_MISMATCH', 'ath is present but no access token was presented');
  }
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > 512)) {
    throw invalid('nonce is not a string of 1..512 characters');
  }
  if (o.nonce !== undefined && (nonce === undefined || !o.nonce.check(nonce, o.now))) {
    throw new DpopError(
      'WARRANT_DPOP_NONCE_REQUIRED',
      nonce === undefined ? 'a server nonce is required' : 'the nonce is not current',
    );
  }
  return { jti, iat };
}

/**
 * Verifies a DPoP proof (RFC 9449 §4.3) for one request: parse, header, signature, claims, key binding,
 * then single use of `jti` — so the replay cache records only proofs that are otherwise valid.
 */
export async function verifyDpopProof(
  proof: unknown,
  options: VerifyDpopProofOptions,
): Promise<VerifiedDpopProof> {
  const o = checkOptions(options);
  const parsed = parseProof(proof, o.algorithms);
  const key = checkHeader(parsed.header, o.algorithms);
  await checkSignature(parsed, key);
  const { jti, iat } = checkClaims(parsed.claims, o);
  const jkt = key.kid;
  if (o.expectedJkt !== undefined && !safeEqual(jkt, o.expectedJkt))
    throw new DpopError('WARRANT_DPOP_KEY_MISMATCH');
  // Usable from iat − tolerance until iat + max age + tolerance: the replay record covers that window, and
  // a replay store that lost its memory after the window opened refuses the proof.
  const replayKey = `dpop:${jkt}:${jti}`;
  if (
    !(await o.replay.consume(replayKey, iat + o.maxAgeSeconds + o.clockTolerance, iat - o.clockTolerance))
  ) {
    throw new DpopError('WARRANT_DPOP_REPLAYED');
  }
  return Object.freeze({ jkt, jti, iat, jwk: Object.freeze(publicJwkMembers(key.jwk)) });
}
