/**
 * The gateway's Transaction Token key (DESIGN §7): a dedicated Ed25519 key at `<dataDir>/txn-token-key.jwk`
 * (private JWK, 0600), created on first start. It is the gateway's own, separate from the STS's and the
 * ledger's keys, so an upstream that trusts it trusts only "this call came through the gateway". Replicas
 * that share a data directory share the key; replicas with their own directories each publish theirs.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportPrivateJwk, generateSigningKey, importPrivateJwk, type SigningKey } from '../core/jose/jwk.ts';

export const TXN_TOKEN_KEY_FILE = 'txn-token-key.jwk';

/** Loads the key, or creates it (0600) when missing; a concurrent creator's key wins. */
export function loadOrCreateTxnTokenKey(dataDir: string): SigningKey {
  const path = join(dataDir, TXN_TOKEN_KEY_FILE);
  if (existsSync(path)) return importPrivateJwk(JSON.parse(readFileSync(path, 'utf8')), 'EdDSA');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = generateSigningKey('EdDSA');
  try {
    writeFileSync(path, `${JSON.stringify(exportPrivateJwk(key))}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return loadOrCreateTxnTokenKey(dataDir);
    throw error;
  }
  chmodSync(path, 0o600);
  return key;
}
