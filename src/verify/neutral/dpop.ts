/**
 * DPoP proof verification (RFC 9449 §4.3) on WebCrypto, by the rules of src/core/dpop/verify-proof.ts
 * (the equivalence test runs both): a strict compact JWS of at most 4096 characters, `typ: dpop+jwt`,
 * EdDSA or ES256 with the public key embedded as `jwk` (no private members, no other key locator), a
 * signature under that key, `htm`/`htu` for this request, fresh `iat`, `ath` for the presented token, the
 * key's thumbprint when one is expected, and single use of `jti` — recorded only for otherwise valid proofs.
 */
import { DpopError } from '../../core/dpop/errors.ts';
import { hasQueryOrFragment, htuForm } from '../../core/dpop/htu.ts';
import type { ReplayCache } from '../../core/dpop/replay-cache.ts';
import { WarrantError } from '../../core/errors.ts';
import { checkTimes } from '../../core/tokens/token-checks.ts';
import { DPOP_TYP } from '../../core/tokens/token-types.ts';
import { importPublicJwk, tokenHash, verifySignature } from './crypto.ts';
import { parseCompact } from './jws.ts';

export const MAX_DPOP_PROOF_LENGTH = 4096;
const FORBIDDEN = ['kid', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'] as const;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export interface NeutralDpopOptions {
  readonly htm: string;
  /** The request URI as received (absolute); its query and fragment are ignored. */
  readonly htu: string;
  /** The token presented with the proof: `ath` must be its hash. */
  readonly accessToken?: string;
  readonly expectedJkt?: string;
  readonly replay: ReplayCache;
  readonly now?: number;
  /** How old a proof may be (default 60 s) and the skew either way (default 5 s). */
  readonly maxAgeSeconds?: number;
  readonly clockTolerance?: number;
}

export interface NeutralDpopProof {
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
}

const invalid = (message: string, cause?: unknown): DpopError =>
  new DpopError('WARRANT_DPOP_INVALID', message, cause === undefined ? undefined : { cause });

export async function verifyDpopProof(
  proof: unknown,
  options: NeutralDpopOptions,
): Promise<NeutralDpopProof> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const maxAge = options.maxAgeSeconds ?? 60;
  const tolerance = options.clockTolerance ?? 5;
  const expectedHtu = htuForm(options.htu);
  if (expectedHtu === undefined) throw new TypeError('htu must be the absolute http(s) request URI');
  if (typeof proof !== 'string' || proof.length === 0) throw invalid('proof is not a string');
  if (proof.length > MAX_DPOP_PROOF_LENGTH) throw invalid('proof is too long');
  let parsed: ReturnType<typeof parseCompact>;
  try {
    parsed = parseCompact(proof, { embeddedJwk: true, maxLength: MAX_DPOP_PROOF_LENGTH });
  } catch (cause) {
    if (cause instanceof WarrantError && cause.code === 'WARRANT_JWS_ALG_NOT_ALLOWED')
      throw invalid('header alg is not allowed', cause);
    throw invalid(`proof is not a strict compact JWS: ${(cause as Error).message}`, cause);
  }
  const { header, claims } = parsed;
  if (header['typ'] !== DPOP_TYP) throw invalid(`header typ is not ${DPOP_TYP}`);
  for (const name of FORBIDDEN)
    if (Object.hasOwn(header, name))
      throw invalid(`header parameter ${name} is not accepted in a DPoP proof`);
  const jwk = header['jwk'];
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalid('header jwk is missing');
  for (const name of PRIVATE_JWK_MEMBERS)
    if (Object.hasOwn(jwk, name)) throw invalid('header jwk carries a private key member');
  let key: Awaited<ReturnType<typeof importPublicJwk>>;
  try {
    key = await importPublicJwk(jwk);
  } catch (cause) {
    throw invalid('header jwk is not a public key for its alg', cause);
  }
  if (key.alg !== parsed.alg) throw invalid('header jwk is not a public key for its alg');
  try {
    // Clients' ECDSA signers need not normalise s: a proof is single use by jti, not named by its hash.
    await verifySignature(key, parsed.signingInput, parsed.signature, { canonical: false });
  } catch {
    throw invalid('signature does not verify under the header jwk');
  }
  const { jti, htm, htu, iat, ath } = claims;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    throw invalid('jti is not a string of 1..256 characters');
  if (typeof htm !== 'string') throw invalid('htm is not a string');
  if (htm !== options.htm) throw new DpopError('WARRANT_DPOP_HTM_MISMATCH');
  if (typeof htu !== 'string') throw invalid('htu is not a string');
  if (hasQueryOrFragment(htu))
    throw new DpopError('WARRANT_DPOP_HTU_MISMATCH', 'htu must not carry a query or fragment');
  const form = htuForm(htu);
  if (form === undefined) throw invalid('htu is not an absolute http(s) URI');
  if (form !== expectedHtu) throw new DpopError('WARRANT_DPOP_HTU_MISMATCH');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('iat is not a number');
  if (iat < now - maxAge - tolerance) throw new DpopError('WARRANT_DPOP_STALE', 'proof is too old');
  if (iat > now + tolerance) throw new DpopError('WARRANT_DPOP_STALE', 'proof is issued in the future');
  for (const name of ['exp', 'nbf'] as const) {
    const value = claims[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value)))
      throw invalid(`${name} is not a number`);
  }
  try {
    checkTimes(
      { iat, exp: claims['exp'] as number | undefined, nbf: claims['nbf'] as number | undefined },
      { now, clockTolerance: tolerance },
    );
  } catch (cause) {
    if (cause instanceof WarrantError)
      throw new DpopError('WARRANT_DPOP_STALE', `proof is outside its validity: ${cause.message}`, { cause });
    throw cause;
  }
  if (options.accessToken !== undefined) {
    if (typeof ath !== 'string')
      throw new DpopError('WARRANT_DPOP_ATH_MISMATCH', 'ath is required with an access token');
    // Both sides are public (a hash of the presented token): a plain comparison leaks nothing.
    if (ath !== (await tokenHash(options.accessToken))) throw new DpopError('WARRANT_DPOP_ATH_MISMATCH');
  } else if (ath !== undefined) {
    throw new DpopError('WARRANT_DPOP_ATH_MISMATCH', 'ath is present but no access token was presented');
  }
  if (options.expectedJkt !== undefined && key.kid !== options.expectedJkt)
    throw new DpopError('WARRANT_DPOP_KEY_MISMATCH');
  if (!(await options.replay.consume(`dpop:${key.kid}:${jti}`, iat + maxAge + tolerance, iat - tolerance)))
    throw new DpopError('WARRANT_DPOP_REPLAYED');
  return Object.freeze({ jkt: key.kid, jti, iat });
}
