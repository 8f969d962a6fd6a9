/**
 * The agent's key (DESIGN §2): generated, or loaded from a private JWK file (mode 0600, as `warrant keygen`
 * writes it), an environment variable or a JWK object. The private half lives in a `KeyObject`, which prints
 * and serialises as nothing; no function here logs, and errors name the source, never the key.
 */

import { readPrivateKeyFile } from '../cli/key-file.ts';
import type { Alg } from '../core/jose/algorithms.ts';
import {
  exportPrivateJwk,
  generateSigningKey,
  importPrivateJwk,
  type PrivateJwk,
  type PublicJwk,
  type SigningKey,
} from '../core/jose/jwk.ts';

export type { Alg, PrivateJwk, PublicJwk, SigningKey };

/** The environment variable `loadAgentKey` reads by default: a private JWK as JSON. */
export const AGENT_KEY_ENV = 'WARRANT_AGENT_KEY';

/** A new key pair (Ed25519 by default, or P-256 with `ES256`). Register `key.jwk` with the STS. */
export function generateAgentKey(alg: Alg = 'EdDSA'): SigningKey {
  return generateSigningKey(alg);
}

/** Where a key comes from: a private JWK file, an environment variable holding one, or the JWK itself. */
export type KeySource =
  | { readonly file: string }
  | { readonly env?: string }
  | { readonly jwk: PrivateJwk | Record<string, unknown> };

/** A key could not be loaded; the message names where from, never the key material. */
export class AgentKeyError extends Error {
  override name = 'AgentKeyError';
}

/**
 * Loads the agent's private key. A file must not be readable by other users (like ssh); an environment
 * variable holds the JWK as JSON (default {@link AGENT_KEY_ENV}).
 */
export function loadAgentKey(source: KeySource = {}): SigningKey {
  if ('file' in source) {
    try {
      return readPrivateKeyFile(source.file);
    } catch (cause) {
      throw new AgentKeyError((cause as Error).message, { cause });
    }
  }
  if ('jwk' in source) return importKey(source.jwk, 'the JWK given');
  const name = source.env ?? AGENT_KEY_ENV;
  const text = process.env[name];
  if (text === undefined || text === '') throw new AgentKeyError(`${name} is not set`);
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    // The parse error would quote the text: say only where it came from.
    throw new AgentKeyError(`${name} does not hold a JSON private JWK`);
  }
  return importKey(jwk, name);
}

function importKey(jwk: unknown, where: string): SigningKey {
  try {
    return importPrivateJwk(jwk);
  } catch (cause) {
    throw new AgentKeyError(`${where} is not a valid private JWK (Ed25519 or P-256)`, { cause });
  }
}

/** The private JWK, for storing the key (0600) or handing it to a secret store. Never log it. */
export function exportAgentKey(key: SigningKey): PrivateJwk {
  return exportPrivateJwk(key);
}
