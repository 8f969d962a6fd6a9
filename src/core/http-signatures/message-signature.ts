import { createHash, timingSafeEqual } from 'node:crypto';
import { WarrantError } from '../errors.ts';
import { ALGORITHMS, type Alg } from '../jose/algorithms.ts';
import type { SigningKey, VerificationKey } from '../jose/jwk.ts';

/**
 * RFC 9421 HTTP message signatures over exactly the components Warrant requires for high-impact routes:
 * the method, the target URI, the RFC 9530 `Content-Digest` of the body and the presented warrant's hash
 * (`Warrant-Hash`), so the parameters that were approved are the parameters executed.
 */
export const COVERED = ['@method', '@target-uri', 'content-digest', 'warrant-hash'] as const;
const LABEL = 'wsig';
const ALG_NAMES: Readonly<Record<Alg, string>> = { EdDSA: 'ed25519', ES256: 'ecdsa-p256-sha256' };
/** Longest a signature stays acceptable after `created` (seconds). */
export const MAX_SIGNATURE_AGE = 300;

const invalid = (message: string) => new WarrantError('WARRANT_SIGNATURE_INVALID', message);

export function contentDigest(body: Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

function signatureParams(created: number, keyid: string, alg: Alg): string {
  return `(${COVERED.map((c) => `"${c}"`).join(' ')});created=${created};keyid="${keyid}";alg="${ALG_NAMES[alg]}"`;
}

function signatureBase(values: Record<(typeof COVERED)[number], string>, params: string): string {
  return `${COVERED.map((c) => `"${c}": ${values[c]}`).join('\n')}\n"@signature-params": ${params}`;
}

export interface SignRequestInput {
  readonly method: string;
  readonly url: string;
  readonly body: Uint8Array;
  readonly warrantHash: string;
  readonly key: SigningKey;
  readonly now?: number;
}

/** The headers a caller adds to sign a request: `Content-Digest`, `Warrant-Hash`, `Signature-Input`, `Signature`. */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const created = input.now ?? Math.floor(Date.now() / 1000);
  const digest = contentDigest(input.body);
  const params = signatureParams(created, input.key.kid, input.key.alg);
  const base = signatureBase(
    {
      '@method': input.method.toUpperCase(),
      '@target-uri': input.url,
      'content-digest': digest,
      'warrant-hash': input.warrantHash,
    },
    params,
  );
  const signature = ALGORITHMS[input.key.alg].sign(input.key.privateKey, Buffer.from(base, 'utf8'));
  return {
    'content-digest': digest,
    'warrant-hash': input.warrantHash,
    'signature-input': `${LABEL}=${params}`,
    signature: `${LABEL}=:${Buffer.from(signature).toString('base64')}:`,
  };
}

export interface VerifyRequestInput {
  readonly method: string;
  readonly url: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Hash of the warrant presented with the request. */
  readonly warrantHash: string;
  /** The presenter's key (the warrant's `cnf` key, proven by DPoP). */
  readonly key: VerificationKey;
  readonly now?: number;
}

function header(headers: VerifyRequestInput['headers'], name: string): string {
  const value = headers[name];
  if (typeof value !== 'string' || value.length === 0) throw invalid(`header ${name} is missing or repeated`);
  return value;
}

const PARAMS =
  /^wsig=\("@method" "@target-uri" "content-digest" "warrant-hash"\);created=(\d{1,12});keyid="([A-Za-z0-9_-]{43})";alg="(ed25519|ecdsa-p256-sha256)"$/;

/** Verifies the request signature; throws `WARRANT_SIGNATURE_INVALID` saying what is wrong. */
export function verifyRequestSignature(input: VerifyRequestInput): void {
  const match = PARAMS.exec(header(input.headers, 'signature-input'));
  if (!match)
    throw invalid(
      `Signature-Input must be ${LABEL}=(${COVERED.map((c) => `"${c}"`).join(' ')});created=…;keyid=…;alg=…`,
    );
  const created = Number(match[1]);
  const keyid = match[2]!;
  const alg = match[3] === 'ed25519' ? 'EdDSA' : 'ES256';
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (created > now + 5 || now - created > MAX_SIGNATURE_AGE)
    throw invalid('the signature is too old or from the future');
  if (keyid !== input.key.kid || alg !== input.key.alg)
    throw invalid('the signature is not by the presenter key');
  const sig = /^wsig=:([A-Za-z0-9+/]+={0,2}):$/.exec(header(input.headers, 'signature'));
  if (!sig) throw invalid(`Signature must be ${LABEL}=:<base64>:`);
  const digest = header(input.headers, 'content-digest');
  const expectedDigest = contentDigest(input.body);
  if (
    digest.length !== expectedDigest.length ||
    !timingSafeEqual(Buffer.from(digest), Buffer.from(expectedDigest))
  ) {
    throw invalid('Content-Digest does not match the body');
  }
  const warrantHash = header(input.headers, 'warrant-hash');
  if (warrantHash !== input.warrantHash)
    throw invalid('Warrant-Hash is not the hash of the presented warrant');
  const base = signatureBase(
    {
      '@method': input.method.toUpperCase(),
      '@target-uri': input.url,
      'content-digest': digest,
      'warrant-hash': warrantHash,
    },
    match[0].slice(LABEL.length + 1),
  );
  const descriptor = ALGORITHMS[alg];
  let ok = false;
  try {
    ok = descriptor.verify(input.key.keyObject, Buffer.from(base, 'utf8'), Buffer.from(sig[1]!, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw invalid('the signature does not verify');
}
