import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Alg } from '../core/jose/algorithms.ts';
import { generateSigningKey, type SigningKey } from '../core/jose/jwk.ts';
import { KeyFileError, readPrivateKeyFile, writePrivateKeyFile } from './key-file.ts';

export interface LoadedSigningKey {
  readonly key: SigningKey;
  readonly path: string;
  /** True when this call generated the key (first run). */
  readonly created: boolean;
}

/**
 * The STS signing key at `<dataDir>/keys/sts-signing.jwk`: read when it exists, otherwise generated with the
 * first configured algorithm and written with mode 0600 in a 0700 directory. Two processes starting at once
 * end up with the same key: the loser of the race reads the winner's file.
 */
export function loadSigningKey(dataDir: string, algorithms: readonly Alg[]): LoadedSigningKey {
  const keysDir = join(dataDir, 'keys');
  const path = join(keysDir, 'sts-signing.jwk');
  try {
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    // The keys directory is Warrant's own: tighten it even if it was created by hand.
    chmodSync(keysDir, 0o700);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new KeyFileError(
      'io',
      keysDir,
      `cannot create ${keysDir} (${code})`,
      'Choose another data directory with --data, or fix its permissions.',
      {
        cause,
      },
    );
  }
  try {
    return { key: readPrivateKeyFile(path, algorithms), path, created: false };
  } catch (error) {
    if (!(error instanceof KeyFileError) || error.problem !== 'not_found') throw error;
  }
  const key = generateSigningKey(algorithms[0] ?? 'EdDSA');
  try {
    writePrivateKeyFile(path, key);
  } catch (error) {
    if (error instanceof KeyFileError && error.problem === 'exists') {
      return { key: readPrivateKeyFile(path, algorithms), path, created: false };
    }
    throw error;
  }
  return { key, path, created: true };
}
