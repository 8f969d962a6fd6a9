/**
 * The canonical text (RFC 8785) and the RFC 9162 leaf hash of a ledger record, on the append path.
 *
 * `canonicalJson` (jcs.ts) is the reference. This is a faster route to the same bytes for the values a
 * record holds: the engine's `JSON.stringify` writes them (same number and string forms as RFC 8785, which
 * jcs.ts also takes from it) once every object's members are in sorted order. A value that already is
 * (every object's keys sorted, every leaf valid) is written as it is, without a copy; any other object is
 * copied with its members sorted. Whatever that route cannot reproduce exactly — integer-like member names
 * (engines write them first, in numeric order), `__proto__`, `toJSON`, non-plain objects, `undefined` in
 * arrays, non-finite numbers, lone surrogates, functions — sends the whole value to `canonicalJson`, which
 * canonicalises it or throws its `TypeError`. `canonical-record.test.ts` checks both agree on generated
 * values.
 *
 * The record's own text does not depend on where it lands in the log, but its `index` member does: so the
 * text is made in two parts around `"index":`, when the record is handed to the ledger (in the caller's
 * turn, while an earlier batch is being written), and the index is put between them when its batch is.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from './jcs.ts';

const NOT_FAST = new Error('not on the fast path');
const INTEGER_LIKE = /^(?:0|[1-9][0-9]*)$/;

/** A record's canonical text without its index: `head + index + tail` is the text with it. */
export interface CanonicalParts {
  readonly head: string;
  readonly tail: string;
}

/**
 * The canonical JSON of `record` with an `index` member (whose value goes between the parts); an `index`
 * member of `record` is replaced. Throws `TypeError` when the record is not representable.
 */
export function canonicalParts(record: object): CanonicalParts {
  let before: string;
  let after: string;
  try {
    const halves = fastHalves(record);
    before = JSON.stringify(halves[0]);
    after = JSON.stringify(halves[1]);
  } catch {
    // NOT_FAST, or a cycle overflowing the stack: the reference canonicalises or names the problem.
    // No prototype, so a `__proto__` member is a member like any other.
    const halves: [Record<string, unknown>, Record<string, unknown>] = [
      Object.create(null),
      Object.create(null),
    ];
    for (const [key, member] of Object.entries(record)) if (key !== 'index') halves[half(key)][key] = member;
    before = canonicalJson(halves[0]);
    after = canonicalJson(halves[1]);
  }
  return {
    head: before.length === 2 ? '{"index":' : `${before.slice(0, -1)},"index":`,
    tail: after.length === 2 ? '}' : `,${after.slice(1)}`,
  };
}

/** The canonical text of the parts' record at `index`. */
export function withIndex(parts: CanonicalParts, index: number): string {
  return `${parts.head}${index}${parts.tail}`;
}

/** The canonical JSON of `record` with an `index` member added (replacing one it has). */
export function canonicalRecord(record: object, index: number): string {
  return withIndex(canonicalParts(record), index);
}

/** RFC 9162 leaf hash of the UTF-8 bytes of `canonical`: SHA-256(0x00 || utf8(canonical)). */
export function recordLeafHash(canonical: string): Uint8Array {
  return new Uint8Array(hash('sha256', `\u0000${canonical}`, 'buffer'));
}

/** Which part a top-level member goes to: the members sorting before `index`, or after it. */
function half(key: string): 0 | 1 {
  return key < 'index' ? 0 : 1;
}

/** The record's members (other than `index`) in sorted order, split around `index`. */
function fastHalves(record: object): [Record<string, unknown>, Record<string, unknown>] {
  plain(record);
  const keys = Object.keys(record).sort();
  const halves: [Record<string, unknown>, Record<string, unknown>] = [{}, {}];
  for (const key of keys) {
    if (key === 'index') continue;
    const member = (record as Record<string, unknown>)[key];
    if (member === undefined) continue;
    memberName(key);
    halves[half(key)][key] = canonicalValue(member);
  }
  return halves;
}

/**
 * `value` itself when `JSON.stringify` writes it canonically as it is (every object's members in sorted
 * order), else a copy that it does; throws NOT_FAST for what only the reference may judge.
 */
function canonicalValue(value: unknown): unknown {
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
        let copy: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw NOT_FAST;
          const out = canonicalValue(item);
          if (out !== item) copy ??= value.slice();
          if (copy !== undefined) copy[i] = out;
        }
        return copy ?? value;
      }
      return canonicalObject(value);
    default:
      throw NOT_FAST;
  }
}

function canonicalObject(value: object): object {
  plain(value);
  const keys = Object.keys(value);
  let sorted = true;
  let same = true;
  const members = new Array<unknown>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i > 0 && keys[i - 1]! > key) sorted = false;
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) {
      // JSON.stringify leaves it out, as RFC 8785 here does.
      members[i] = undefined;
      continue;
    }
    memberName(key);
    const out = canonicalValue(member);
    if (out !== member) same = false;
    members[i] = out;
  }
  if (sorted && same) return value;
  const order = keys.map((_, i) => i);
  if (!sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  const copy: Record<string, unknown> = {};
  for (const i of order) if (members[i] !== undefined) copy[keys[i]!] = members[i];
  return copy;
}

/** A plain object (or one with no prototype) without `toJSON`. */
function plain(value: object): void {
  const proto = Object.getPrototypeOf(value);
  if (
    (proto !== Object.prototype && proto !== null) ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  )
    throw NOT_FAST;
}

/** A member name `JSON.stringify` writes where and as RFC 8785 does. */
function memberName(key: string): void {
  const first = key.charCodeAt(0);
  if (first >= 48 && first <= 57 && INTEGER_LIKE.test(key)) throw NOT_FAST;
  if (key === '__proto__' || !key.isWellFormed()) throw NOT_FAST;
}
