/**
 * Canonical base64url without node built-ins (the runtime-neutral verifier): the URL-safe alphabet, no
 * padding, no whitespace, a length that is not 1 mod 4, and zero unused bits in the last character — the
 * same rule as src/core/jose/base64url.ts, so one byte string has one encoding everywhere.
 */
import { JwsError } from '../../core/errors.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Map([...ALPHABET].map((c, i) => [c.charCodeAt(0), i]));

export function decode(input: string, what = 'segment'): Uint8Array {
  if (input.length % 4 === 1)
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not canonical base64url`);
  const out = new Uint8Array(Math.floor((input.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < input.length; i++) {
    const value = VALUES.get(input.charCodeAt(i));
    if (value === undefined)
      throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not canonical base64url`);
    buffer = ((buffer << 6) | value) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (buffer >> bits) & 0xff;
    }
  }
  // Unused low bits of the last character must be zero, else two strings would decode to the same bytes.
  if ((buffer & ((1 << bits) - 1)) !== 0)
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not canonical base64url`);
  return out;
}

export function encode(input: Uint8Array | string): string {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}
