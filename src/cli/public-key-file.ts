import { readFileSync, statSync } from 'node:fs';
import { isWarrantError } from '../core/errors.ts';
import { importPrivateJwk, importPublicJwk, type PublicJwk } from '../core/jose/jwk.ts';
import { CliError } from './command.ts';

export interface PublicKeyFromFile {
  /** The public members only (`kty`, `crv`, `x`[, `y`], `kid`, `alg`, `use`): safe to send anywhere. */
  readonly jwk: PublicJwk;
  /** RFC 7638 thumbprint. */
  readonly kid: string;
  /** The file held a private key (`warrant keygen --out`); only its public half is used. */
  readonly fromPrivate: boolean;
}

/**
 * Reads the public key of an agent from a file: a public JWK (what `warrant keygen` prints), a private JWK
 * (the file `warrant keygen --out` writes: only the public members are kept), or a JWKS with exactly one
 * key. Messages name the file and never its content.
 */
export function readPublicKeyFile(path: string, flag = '--public-key'): PublicKeyFromFile {
  let text: string;
  try {
    if (statSync(path).size > 64 * 1024) {
      throw new CliError(`${path} is too large to be a JWK`, `Pass a JWK file with ${flag}.`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new CliError(
      `cannot read ${path} (${code})`,
      code === 'ENOENT'
        ? 'Check the path, or create a key pair with `warrant keygen --out agent.jwk`.'
        : 'Check the permissions of the file, then run again.',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(
      `${path} is not JSON`,
      `Pass a JWK file with ${flag}: the private key written by \`warrant keygen --out\`, or the public JWK it prints.`,
    );
  }
  if (typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)) {
    const keys = (value as { keys: unknown[] }).keys;
    if (keys.length !== 1) {
      throw new CliError(
        `${path} is a JWKS with ${keys.length} keys`,
        'Pass a file holding exactly one JWK.',
      );
    }
    value = keys[0];
  }
  const fromPrivate = typeof value === 'object' && value !== null && 'd' in value;
  try {
    const key = fromPrivate ? importPrivateJwk(value) : importPublicJwk(value);
    // `key.jwk` holds the public members only, whichever kind of file it came from.
    return { jwk: { ...key.jwk }, kid: key.kid, fromPrivate };
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    throw new CliError(
      `${path} is not a valid ${fromPrivate ? 'private' : 'public'} JWK (Ed25519 or P-256): ${error.message}`,
      'Create a key pair with `warrant keygen --out agent.jwk` and pass that file (or the public JWK it prints).',
    );
  }
}
