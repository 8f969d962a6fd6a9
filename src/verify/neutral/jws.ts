/**
 * Strict compact JWS parsing without node built-ins, by the rules of src/core/jose/jws.ts `parseCompact`
 * (the equivalence test in neutral.test.ts runs both on the same inputs): exactly three canonical
 * base64url segments, UTF-8 JSON-object header and payload without duplicate members, `alg` EdDSA or ES256,
 * no key locators, no `crit`, no `b64`.
 */
import { JwsError } from '../../core/errors.ts';
import { parseJsonObject } from '../../core/jose/strict-json.ts';
import { decode } from './base64url.ts';
import type { Alg } from './crypto.ts';

/** Hard cap on a compact JWS (characters), as the core's. */
export const MAX_COMPACT_LENGTH = 16 * 1024;
const FORBIDDEN_HEADER_PARAMETERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const;

export interface ParsedJws {
  readonly compact: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly alg: Alg;
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not UTF-8`);
  }
}

function algOf(value: unknown): Alg | undefined {
  if (value === 'Ed25519' || value === 'EdDSA') return 'EdDSA';
  return value === 'ES256' ? 'ES256' : undefined;
}

/**
 * `embeddedJwk` lets the header carry its key as `jwk` (a DPoP proof); `maxLength` lowers the length cap.
 */
export function parseCompact(
  compact: unknown,
  options: { embeddedJwk?: boolean; maxLength?: number } = {},
): ParsedJws {
  if (typeof compact !== 'string' || compact.length === 0)
    throw new JwsError('WARRANT_JWS_MALFORMED', 'token is not a string');
  if (compact.length > (options.maxLength ?? MAX_COMPACT_LENGTH))
    throw new JwsError('WARRANT_JWS_MALFORMED', 'token is too long');
  const first = compact.indexOf('.');
  const second = first < 0 ? -1 : compact.indexOf('.', first + 1);
  if (first <= 0 || second < 0 || compact.indexOf('.', second + 1) !== -1)
    throw new JwsError('WARRANT_JWS_MALFORMED', 'token does not have exactly three segments');
  const s = compact.slice(second + 1);
  if (s.length === 0) throw new JwsError('WARRANT_JWS_MALFORMED', 'signature segment is empty');
  const header = parseJsonObject(text(decode(compact.slice(0, first), 'header'), 'header'), 'header');
  const payload = decode(compact.slice(first + 1, second), 'payload');
  const signature = decode(s, 'signature');
  const rawAlg = header['alg'];
  if (typeof rawAlg !== 'string') throw new JwsError('WARRANT_JWS_MALFORMED', 'header alg is missing');
  const alg = algOf(rawAlg);
  if (alg === undefined)
    throw new JwsError(
      'WARRANT_JWS_ALG_NOT_ALLOWED',
      `alg ${JSON.stringify(rawAlg.slice(0, 32))} is not allowed`,
    );
  for (const name of FORBIDDEN_HEADER_PARAMETERS)
    if (Object.hasOwn(header, name) && !(name === 'jwk' && options.embeddedJwk === true))
      throw new JwsError('WARRANT_JWS_HEADER_FORBIDDEN', `header parameter ${name} is not accepted`);
  if (Object.hasOwn(header, 'crit'))
    throw new JwsError(
      'WARRANT_JWS_CRIT_UNSUPPORTED',
      'header lists critical extensions that are not understood',
    );
  if (Object.hasOwn(header, 'b64'))
    throw new JwsError('WARRANT_JWS_MALFORMED', 'unencoded payloads (b64) are not accepted');
  if (header['kid'] !== undefined && typeof header['kid'] !== 'string')
    throw new JwsError('WARRANT_JWS_MALFORMED', 'header kid is not a string');
  if (header['typ'] !== undefined && typeof header['typ'] !== 'string')
    throw new JwsError('WARRANT_JWS_MALFORMED', 'header typ is not a string');
  const claims = parseJsonObject(text(payload, 'payload'), 'payload');
  return {
    compact,
    header,
    claims,
    alg,
    // The compact form is ASCII (base64url and dots): its bytes are its characters.
    signingInput: new TextEncoder().encode(compact.slice(0, second)),
    signature,
  };
}
