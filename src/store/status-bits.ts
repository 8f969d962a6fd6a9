/**
 * The bitstring of draft-ietf-oauth-status-list with 1 bit per token: index `i` is bit `i & 7` (LSB
 * first) of byte `i >> 3`.
 */

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
