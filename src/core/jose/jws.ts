import { Buffer } from 'node:buffer';
import { JwsError, KeyError } from '../errors.ts';
import {
  ALGORITHMS,
  type AlgorithmDescriptor,
  algOf,
  EXTERNAL_ALGORITHMS,
  externalAlgOf,
} from './algorithms.ts';
import { decode, encode } from './base64url.ts';
import type { ExternalKey } from './external-jwk.ts';
import type { SigningKey, VerificationKey } from './jwk.ts';
import { parseJsonObject } from './strict-json.ts';

/** Header parameters that locate or embed a key. Keys come from configuration, never from a token. */
export const FORBIDDEN_HEADER_PARAMETERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const;

/** Hard cap on a compact JWS (bytes); a warrant chain has a handful of small tokens. */
export const MAX_COMPACT_LENGTH = 16 * 1024;

export interface ParsedJws {
  readonly compact: string;
  readonly header: Readonly<Record<string, unknown>>;
  /** The payload bytes; `claims` is its JSON object when parsed with `payload: 'json'`. */
  readonly payload: Uint8Array;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

export interface ParseOptions {
  /** `json` (default) requires a JSON-object payload (a JWT); `bytes` accepts any payload. */
  payload?: 'json' | 'bytes';
  /**
   * Which `alg` values the header may name: Warrant's own (`warrant`, default: EdDSA, ES256) or those
   * accepted from other parties' signers (`external`: RS256, PS256, ES256, ES384, EdDSA).
   */
  algorithms?: 'warrant' | 'external';
  /** Lets the header embed its key as `jwk` (a DPoP proof, RFC 9449 §4.2); every other key locator stays refused. */
  embeddedJwk?: boolean;
  /** Longest accepted compact form (default `MAX_COMPACT_LENGTH`). */
  maxLength?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not UTF-8`);
  }
}

/**
 * Strict compact JWS parsing, for every JWT Warrant reads (its own tokens, persons' ID tokens and ID-JAGs,
 * workload tokens, client assertions, DPoP proofs): exactly three segments, each canonical base64url (no
 * padding, no whitespace, no non-zero unused bits), UTF-8 JSON-object header and payload without duplicate
 * members, a string `alg` on the allowlist, no key-locating parameters, no `crit`, no `b64`.
 */
export function parseCompact(compact: unknown, options: ParseOptions = {}): ParsedJws {
  if (typeof compact !== 'string' || compact.length === 0) {
    throw new JwsError('WARRANT_JWS_MALFORMED', 'token is not a string');
  }
  if (compact.length > (options.maxLength ?? MAX_COMPACT_LENGTH))
    throw new JwsError('WARRANT_JWS_MALFORMED', 'token is too long');
  const first = compact.indexOf('.');
  const second = first < 0 ? -1 : compact.indexOf('.', first + 1);
  if (first <= 0 || second < 0 || compact.indexOf('.', second + 1) !== -1) {
    throw new JwsError('WARRANT_JWS_MALFORMED', 'token does not have exactly three segments');
  }
  const h = compact.slice(0, first);
  const p = compact.slice(first + 1, second);
  const s = compact.slice(second + 1);
  if (s.length === 0) throw new JwsError('WARRANT_JWS_MALFORMED', 'signature segment is empty');
  const header = parseJsonObject(text(decode(h, 'header'), 'header'), 'header');
  const payload = decode(p, 'payload');
  const signature = decode(s, 'signature');
  checkHeader(header, options);
  let claims: Record<string, unknown> = {};
  if ((options.payload ?? 'json') === 'json') {
    claims = parseJsonObject(text(payload, 'payload'), 'payload');
  }
  return {
    compact,
    header,
    payload,
    claims,
    signingInput: Buffer.from(compact.slice(0, second), 'latin1'),
    signature,
  };
}

function checkHeader(header: Record<string, unknown>, options: ParseOptions): void {
  const alg = header['alg'];
  if (typeof alg !== 'string') throw new JwsError('WARRANT_JWS_MALFORMED', 'header alg is missing');
  const allowed = options.algorithms === 'external' ? externalAlgOf(alg) : algOf(alg);
  if (allowed === undefined)
    throw new JwsError(
      'WARRANT_JWS_ALG_NOT_ALLOWED',
      `alg ${JSON.stringify(alg.slice(0, 32))} is not allowed`,
    );
  for (const name of FORBIDDEN_HEADER_PARAMETERS) {
    if (name === 'jwk' && options.embeddedJwk === true) continue;
    if (Object.hasOwn(header, name)) {
      throw new JwsError('WARRANT_JWS_HEADER_FORBIDDEN', `header parameter ${name} is not accepted`);
    }
  }
  if (Object.hasOwn(header, 'crit')) {
    // No extension is understood, so any crit (even an empty or malformed one) is refused.
    throw new JwsError(
      'WARRANT_JWS_CRIT_UNSUPPORTED',
      'header lists critical extensions that are not understood',
    );
  }
  if (Object.hasOwn(header, 'b64'))
    throw new JwsError('WARRANT_JWS_MALFORMED', 'unencoded payloads (b64) are not accepted');
  if (header['kid'] !== undefined && typeof header['kid'] !== 'string') {
    throw new JwsError('WARRANT_JWS_MALFORMED', 'header kid is not a string');
  }
  if (header['typ'] !== undefined && typeof header['typ'] !== 'string') {
    throw new JwsError('WARRANT_JWS_MALFORMED', 'header typ is not a string');
  }
}

/** Resolves the verification key for a `kid`. Implementations look only in trusted configuration. */
export type KeyResolver = (kid: string | undefined) => VerificationKey | undefined;

export interface VerifyOptions {
  /**
   * Require the signature's canonical encoding (default true): for ES256, low-s. Tokens Warrant issues and
   * verifies (warrants, identity tokens, status lists, checkpoints) have one string per signature, so their
   * hash is an identifier. Pass `false` only for signatures made by other parties' signers (RFC 7523 client
   * assertions), which commonly emit high-s ECDSA signatures.
   */
  canonical?: boolean;
}

/**
 * Verifies a parsed JWS: the key comes from `resolve(kid)`, the header `alg` must be the algorithm bound to
 * that key, and the signature must have the algorithm's exact length, be canonical (unless
 * `options.canonical` is false) and verify.
 */
export function verifyParsed(
  jws: ParsedJws,
  resolve: KeyResolver,
  options: VerifyOptions = {},
): VerificationKey {
  const { key, descriptor } = checkedKey(jws, resolve, options);
  let ok = false;
  try {
    ok = descriptor.verify(key.keyObject, jws.signingInput, jws.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID');
  return key;
}

/**
 * {@link verifyParsed} with the signature checked on libuv's thread pool: the same checks and the same
 * errors (all but the signature itself are made before anything is scheduled), off the event loop.
 */
export async function verifyParsedAsync(
  jws: ParsedJws,
  resolve: KeyResolver,
  options: VerifyOptions = {},
): Promise<VerificationKey> {
  const { key, descriptor } = checkedKey(jws, resolve, options);
  let ok = false;
  try {
    ok = await descriptor.verifyAsync(key.keyObject, jws.signingInput, jws.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID');
  return key;
}

/** Everything verifyParsed checks before the signature: key, algorithm, length, canonical form. */
function checkedKey(
  jws: ParsedJws,
  resolve: KeyResolver,
  options: VerifyOptions,
): { key: VerificationKey; descriptor: AlgorithmDescriptor } {
  const kid = jws.header['kid'] as string | undefined;
  const key = resolve(kid);
  if (!key) throw new KeyError('WARRANT_KEY_UNKNOWN', 'no trusted key for this kid');
  const alg = algOf(jws.header['alg']);
  if (alg !== key.alg)
    throw new JwsError('WARRANT_JWS_ALG_NOT_ALLOWED', `alg does not match the ${key.alg} key`);
  const descriptor = ALGORITHMS[key.alg];
  if (jws.signature.length !== descriptor.signatureLength) {
    throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID', 'signature has the wrong length');
  }
  if ((options.canonical ?? true) && !descriptor.canonical(jws.signature)) {
    throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID', 'signature is not in its canonical (low-s) form');
  }
  return { key, descriptor };
}

/**
 * Verifies a parsed JWS of another party (parsed with `algorithms: 'external'`) against that party's keys:
 * only keys whose `kid` is the header's (every key when the header has none) and whose type allows the
 * header `alg` are tried; the signature must have the exact length for the key and verify. ECDSA signatures
 * are not required to be low-s: other parties' signers do not normalise s, and a foreign token is never
 * identified by its hash alone (ID-JAGs are single-use by `jti`). Returns the key that verified.
 */
export function verifyParsedExternal(jws: ParsedJws, keys: readonly ExternalKey[]): ExternalKey {
  const alg = externalAlgOf(jws.header['alg']);
  if (alg === undefined) throw new JwsError('WARRANT_JWS_ALG_NOT_ALLOWED');
  const kid = jws.header['kid'];
  const candidates = keys.filter((k) => (kid === undefined || k.kid === kid) && k.algs.includes(alg));
  if (candidates.length === 0)
    throw new KeyError('WARRANT_KEY_UNKNOWN', 'no trusted key for this kid and alg');
  const descriptor = EXTERNAL_ALGORITHMS[alg];
  for (const key of candidates) {
    if (jws.signature.length !== descriptor.signatureLength(key.keyObject)) continue;
    let ok = false;
    try {
      ok = descriptor.verify(key.keyObject, jws.signingInput, jws.signature);
    } catch {
      ok = false;
    }
    if (ok) return key;
  }
  throw new JwsError('WARRANT_JWS_SIGNATURE_INVALID');
}

export function verifyCompact(
  compact: unknown,
  resolve: KeyResolver,
  options?: ParseOptions & VerifyOptions,
): ParsedJws {
  const parsed = parseCompact(compact, options);
  verifyParsed(parsed, resolve, options);
  return parsed;
}

/**
 * Signs a JWT. `alg` and `kid` always come from the key; any caller-supplied values for them are replaced.
 * Header member order is fixed (alg, kid, typ, …) so re-signing the same input gives the same bytes for EdDSA.
 */
export function signCompact(
  header: { typ?: string; [name: string]: unknown },
  payload: Record<string, unknown> | Uint8Array,
  key: SigningKey,
  options: { kid?: boolean } = {},
): string {
  const input = signingInputOf(header, payload, key, options);
  const signature = ALGORITHMS[key.alg].sign(key.privateKey, Buffer.from(input, 'latin1'));
  return `${input}.${encode(signature)}`;
}

/** {@link signCompact} with the signature made on libuv's thread pool (same bytes, off the event loop). */
export async function signCompactAsync(
  header: { typ?: string; [name: string]: unknown },
  payload: Record<string, unknown> | Uint8Array,
  key: SigningKey,
  options: { kid?: boolean } = {},
): Promise<string> {
  const input = signingInputOf(header, payload, key, options);
  const signature = await ALGORITHMS[key.alg].signAsync(key.privateKey, Buffer.from(input, 'latin1'));
  return `${input}.${encode(signature)}`;
}

function signingInputOf(
  header: { typ?: string; [name: string]: unknown },
  payload: Record<string, unknown> | Uint8Array,
  key: SigningKey,
  options: { kid?: boolean },
): string {
  const { alg: _a, kid: _k, ...rest } = header;
  const fullHeader =
    options.kid === false ? { alg: key.alg, ...rest } : { alg: key.alg, kid: key.kid, ...rest };
  const h = encode(JSON.stringify(fullHeader));
  const p = payload instanceof Uint8Array ? encode(payload) : encode(JSON.stringify(payload));
  return `${h}.${p}`;
}
