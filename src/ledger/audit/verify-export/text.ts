/** Small helpers for the verifier's messages: they quote file content, so they keep it printable. */
import type { ParsedCheckpoint } from '../../checkpoint.ts';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** A value from the file, quoted and cut at 60 characters. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** Keeps a message printable: no control characters, at most 200 characters. */
export function clean(message: string): string {
  let flat = '';
  for (const ch of message) {
    const c = ch.codePointAt(0)!;
    flat += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? ' ' : ch;
  }
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

export function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}

/** Who signed a checkpoint, for the messages: `name+keyhash, …`. */
export function signersOf(checkpoint: ParsedCheckpoint): string {
  return checkpoint.signatures.map((s) => `${s.name}+${s.keyHash}`).join(', ') || 'nobody';
}
