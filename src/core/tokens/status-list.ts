/**
 * The status list of draft-ietf-oauth-status-list, one bit per token: index `i` is bit `i & 7` (least
 * significant first) of byte `i >> 3`; bit set = revoked. On the wire the byte string is ZLIB-compressed
 * (RFC 1950) and base64url-encoded as the `lst` of a `statuslist+jwt`. The STS encodes, a recipient
 * decodes; both through this one codec.
 *
 * Compression uses the web-standard `CompressionStream('deflate')` (the ZLIB format), which Node 24,
 * browsers and edge runtimes all provide, so the core needs no `node:zlib`.
 */

import { TokenError } from '../errors.ts';
import { decode, encode } from '../jose/base64url.ts';

/** Bits per token in every list Warrant signs and reads. */
export const STATUS_LIST_BITS = 1;

/** The status of token `index`: 1 when its bit is set. An index past the end of the list is 0. */
export function statusBit(bits: Uint8Array, index: number): 0 | 1 {
  const byte = bits[index >> 3];
  return byte !== undefined && ((byte >> (index & 7)) & 1) === 1 ? 1 : 0;
}

/** Sets or clears `indices` in a copy of `bits`, grown as needed. `changed` is false when no bit moved. */
export function applyBits(
  bits: Uint8Array,
  size: number,
  indices: readonly number[],
  value: 0 | 1,
): { bits: Uint8Array; size: number; changed: boolean } {
  let newSize = size;
  for (const i of indices) if (i + 1 > newSize) newSize = i + 1;
  const out = new Uint8Array(Math.max(bits.length, Math.ceil(newSize / 8)));
  out.set(bits);
  let changed = false;
  for (const i of indices) {
    const byte = i >> 3;
    const mask = 1 << (i & 7);
    const before = out[byte]!;
    out[byte] = value === 1 ? before | mask : before & ~mask;
    if (out[byte] !== before) changed = true;
  }
  return { bits: out, size: newSize, changed };
}

/** A fresh `Uint8Array` of exactly `ceil(size / 8)` bytes holding `bits`. */
export function sizedBits(bits: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(size / 8));
  out.set(bits.subarray(0, out.length));
  return out;
}

/** The `status_list` claim for `bits`: `{ bits: 1, lst }`, the bytes ZLIB-compressed and base64url-encoded. */
export async function encodeStatusList(bits: Uint8Array): Promise<{ bits: 1; lst: string }> {
  return { bits: STATUS_LIST_BITS, lst: encode(await transform(bits, new CompressionStream('deflate'))) };
}

/**
 * The byte string of a `status_list` claim. Only 1-bit lists are read: a list of wider statuses would be
 * misread bit by bit, so it is refused (`WARRANT_CLAIM_INVALID`), as is an `lst` that is not canonical
 * base64url (`WARRANT_JWS_MALFORMED`); data that does not inflate rejects with the runtime's `TypeError`.
 */
export async function decodeStatusList(list: {
  readonly bits: number;
  readonly lst: string;
}): Promise<Uint8Array> {
  if (list.bits !== STATUS_LIST_BITS) {
    throw new TokenError(
      'WARRANT_CLAIM_INVALID',
      `claim status_list has ${list.bits}-bit statuses; only 1 is read`,
    );
  }
  return transform(decode(list.lst, 'status_list lst'), new DecompressionStream('deflate'));
}

async function transform(
  input: Uint8Array,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const body = new Blob([input as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(body).arrayBuffer());
}
