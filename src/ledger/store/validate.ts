import type { LedgerEntry, LedgerQuery, StoredCheckpoint } from './ports.ts';
import { QUERY_FIELDS } from './ports.ts';

/** Checks shared by every ledger store adapter, so they reject the same caller mistakes the same way. */

export function index(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new TypeError(`${name} must be a non-negative safe integer`);
  return value as number;
}

export function range(from: unknown, to: unknown): void {
  index(from, 'from');
  index(to, 'to');
  if ((to as number) < (from as number)) throw new RangeError('to must not be less than from');
}

function hash32(value: unknown, name: string): void {
  if (!(value instanceof Uint8Array) || value.length !== 32)
    throw new TypeError(`${name} must be a 32-byte Uint8Array`);
}

function nullableText(value: unknown, name: string): void {
  if (value !== null && typeof value !== 'string') throw new TypeError(`${name} must be a string or null`);
}

/** Checks the batch shape and that its indices are consecutive; resolves the first index. */
export function checkBatch(entries: readonly LedgerEntry[]): number {
  if (!Array.isArray(entries) || entries.length === 0)
    throw new TypeError('entries must be a non-empty array');
  const first = index(entries[0]?.index, 'entries[0].index');
  entries.forEach((e, i) => {
    if (typeof e !== 'object' || e === null) throw new TypeError(`entries[${i}] must be an object`);
    if (e.index !== first + i) throw new TypeError('entry indices must be consecutive');
    hash32(e.leafHash, `entries[${i}].leafHash`);
    if (typeof e.canonical !== 'string') throw new TypeError(`entries[${i}].canonical must be a string`);
    if (!Number.isSafeInteger(e.time)) throw new TypeError(`entries[${i}].time must be an integer`);
    for (const f of QUERY_FIELDS) nullableText(e[f], `entries[${i}].${f}`);
  });
  return first;
}

export function checkCheckpoint(cp: StoredCheckpoint): void {
  if (typeof cp !== 'object' || cp === null) throw new TypeError('checkpoint must be an object');
  index(cp.size, 'size');
  hash32(cp.root, 'root');
  if (typeof cp.note !== 'string' || cp.note.length === 0)
    throw new TypeError('note must be a non-empty string');
  if (!Number.isSafeInteger(cp.time)) throw new TypeError('time must be an integer');
}

export function checkLimit(limit: unknown): number {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > 1000)
    throw new TypeError('limit must be an integer in 1..1000');
  return limit as number;
}

export function checkQuery(q: LedgerQuery): void {
  if (typeof q !== 'object' || q === null) throw new TypeError('query must be an object');
  checkLimit(q.limit);
  for (const f of QUERY_FIELDS)
    if (q[f] !== undefined && typeof q[f] !== 'string') throw new TypeError(`${f} must be a string`);
  for (const f of ['since', 'until'] as const)
    if (q[f] !== undefined && !Number.isSafeInteger(q[f])) throw new TypeError(`${f} must be an integer`);
  if (q.after !== undefined) index(q.after, 'after');
}

/** A view of the bytes as a plain `Uint8Array` (adapters return `Buffer`s otherwise). */
export function bytes(value: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(value) === Uint8Array.prototype
    ? value
    : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
