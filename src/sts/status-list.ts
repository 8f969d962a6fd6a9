import { encodeStatusList, signToken } from '../core/tokens/index.ts';
import type { Sts } from './sts.ts';

/** Seconds a relying party may cache a status list before fetching it again. */
export const STATUS_LIST_TTL = 30;

let cached: { key: string; token: string; iat: number } | undefined;

/**
 * The signed status list (draft-ietf-oauth-status-list): one bit per issued warrant, set when revoked,
 * ZLIB-compressed and base64url-encoded in a `statuslist+jwt`. Its `iat` says how current it is: a gateway
 * counts its revocation data fresh from that time (never from when it happened to receive the list), so the
 * list is re-signed when the bits change and otherwise at most once a second.
 */
export async function signedStatusList(sts: Sts, listId: string): Promise<string | undefined> {
  const snapshot = await sts.store.statusLists.get(listId);
  if (snapshot === null) return undefined;
  const now = sts.clock();
  const key = `${sts.keys.current.kid}:${listId}:${snapshot.version}:${snapshot.size}`;
  if (cached && cached.key === key && cached.iat >= now) return cached.token;
  const bits = snapshot.bits.length > 0 ? snapshot.bits : new Uint8Array(1);
  const exp = now + 10 * STATUS_LIST_TTL;
  const statusList = await encodeStatusList(bits);
  const token = signToken(
    'statusList',
    {
      iss: sts.issuer,
      sub: `${sts.issuer}/status/${listId}`,
      iat: now,
      exp,
      ttl: STATUS_LIST_TTL,
      status_list: statusList,
    },
    sts.keys.current,
  );
  cached = { key, token, iat: now };
  return token;
}
