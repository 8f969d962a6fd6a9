/**
 * The canonical text (RFC 8785) and the RFC 9162 leaf hash of a ledger record, on the append path.
 *
 * `canonicalJson` (jcs.ts) is the reference. This is a faster route to the same bytes for the values a
 * record holds: it copies the value with every object's members in sorted order and lets the engine's
 * `JSON.stringify` write it (same number and string forms as RFC 8785, which jcs.ts also takes from it).
 * Whatever that route cannot reproduce exactly — integer-like member names (engines write them first,
 * in numeric order), `__proto__`, `toJSON`, non-plain objects, `undefined` in arrays, non-finite numbers,
 * lone surrogates — sends the whole value to `canonicalJson`, which canonicalises it or throws its
 * `TypeError`. `canonical-record.test.ts` checks both agree on generated values.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from './jcs.ts';

const NOT_FAST = new Error('not on the fast path');
const INTEGER_LIKE = /^(?:0|[1-9][0-9]*)$/;

/** The canonical JSON of `record` with an `index` member added. */
export function canonicalRecord(record: object, index: number): string {
  try {
    return JSON.stringify(sortedObject(record, index));
  } catch {
    // NOT_FAST, or a cycle overflowing the stack: the reference canonicalises or names the problem.
    return canonicalJson({ ...record, index });
  }
}

/** RFC 9162 leaf hash of the UTF-8 bytes of `canonical`: SHA-256(0x00 || utf8(canonical)). */
export function recordLeafHash(canonical: string): Uint8Array {
  return new Uint8Array(hash('sha256', `\u0000${canonical}`, 'buffer'));
}

function sorted(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw NOT_FAST;
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw NOT_FAST;
      return value;
    case 'boolean':
      return value;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          if (item === undefined) throw NOT_FAST;
          out[i] = sorted(item);
        }
        return out;
      }
      return sortedObject(value);
    default:
      throw NOT_FAST;
  }
}

function sortedObject(value: object, index?: number): Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  if (
    (proto !== Object.prototype && proto !== null) ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  )
    throw NOT_FAST;
  const keys = Object.keys(value);
  if (index !== undefined) {
    if (keys.includes('index')) throw NOT_FAST;
    keys.push('index');
  }
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (index !== undefined && key === 'index') {
      out[key] = index;
      continue;
    }
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    if (key === '__proto__' || INTEGER_LIKE.test(key) || !key.isWellFormed()) throw NOT_FAST;
    out[key] = sorted(member);
  }
  return out;
}
