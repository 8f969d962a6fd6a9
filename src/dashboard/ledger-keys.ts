/**
 * The note verifier keys a dashboard page checks checkpoints with: the ledger's own key (the public half of
 * `<dataDir>/ledger-key.jwk`, under the names that signed the latest checkpoint — what `warrant audit key`
 * prints) and the configured witnesses' keys. The page shows them, so that an operator can compare them
 * with `warrant audit key` before trusting a green check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importPrivateJwk } from '../core/jose/jwk.ts';
import { signerNames } from '../ledger/audit/source.ts';
import { noteVerifierKey } from '../ledger/checkpoint.ts';

export function ledgerVerifierKeys(dataDir: string, latestNote: string | undefined): string[] {
  const path = join(dataDir, 'ledger-key.jwk');
  if (!existsSync(path) || latestNote === undefined) return [];
  try {
    const key = importPrivateJwk(JSON.parse(readFileSync(path, 'utf8')), 'EdDSA');
    const keys: string[] = [];
    for (const name of signerNames(latestNote)) {
      try {
        keys.push(noteVerifierKey(name, key));
      } catch {
        // Not a valid key name: not ours.
      }
    }
    return keys;
  } catch {
    return [];
  }
}
