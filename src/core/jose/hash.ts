import { createHash } from 'node:crypto';

/** SHA-256 over the exact ASCII of a compact JWS, base64url: the token's stable identifier. */
export function tokenHash(compact: string): string {
  return createHash('sha256').update(compact, 'latin1').digest('base64url');
}

export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
