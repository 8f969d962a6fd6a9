import { Buffer } from 'node:buffer';
import { JwsError } from '../errors.ts';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function encode(input: Uint8Array | string): string {
  return Buffer.from(typeof input === 'string' ? Buffer.from(input, 'utf8') : input).toString('base64url');
}

/**
 * Decodes canonical base64url only: the URL-safe alphabet, no padding, no whitespace, a length that is
 * not 1 mod 4, and zero unused bits in the last character. So one byte string has one encoding.
 */
export function decode(input: string, what = 'segment'): Uint8Array {
  if (!ALPHABET.test(input) || input.length % 4 === 1) {
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not canonical base64url`);
  }
  const bytes = Buffer.from(input, 'base64url');
  if (bytes.toString('base64url') !== input) {
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not canonical base64url`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function isCanonical(input: string): boolean {
  if (!ALPHABET.test(input) || input.length % 4 === 1) return false;
  return Buffer.from(input, 'base64url').toString('base64url') === input;
}
