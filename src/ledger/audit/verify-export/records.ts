/**
 * Phase 3 of `verifyExport`: the record lines. Each must be exactly
 * `{"type":"record","index":i,"record":<canonical JSON>}`, its record bytes byte-identical to
 * `canonicalJson(record)` (RFC 8785); indices run 0..n-1 with no gap, repeat or reordering, and the
 * record's own `index` member agrees. The leaf hash of each record's bytes goes into the tree, in file
 * order.
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { canonicalJson } from '../../jcs.ts';
import { EMPTY_LEAF, type VerifyState } from './state.ts';
import { clean, isObject, kindOf, show } from './text.ts';

const RECORD_PREFIX = '{"type":"record","index":';
const RECORD_MEMBER = ',"record":';
const RECORD_MEMBERS = ['type', 'index', 'record'];

/** A record line in exactly the exporter's shape (see `fastRecord`). */
export interface FastRecord {
  readonly index: number;
  readonly record: Record<string, unknown>;
  readonly raw: string;
  readonly start: number;
}

/**
 * Reads one record line (`obj`, parsed from `text`, the bytes `bytes`; `fast` when it has the exporter's
 * shape): its leaf into the tree, its problems into the state.
 */
export function readRecord(
  state: VerifyState,
  n: number,
  obj: Record<string, unknown>,
  bytes: Buffer,
  text: string,
  fast: FastRecord | null,
): void {
  state.records++;
  if (state.checkpointLines > 0)
    state.tampered(
      n,
      'a record after the checkpoints (an export lists every record, then the checkpoints): appended?',
    );
  const index = obj['index'];
  const rec = obj['record'];
  const unknown = Object.keys(obj).filter((k) => !RECORD_MEMBERS.includes(k));
  if (!Number.isSafeInteger(index) || (index as number) < 0) {
    state.malformed(n, `"index" must be a non-negative integer (got ${show(index)})`);
    state.addLeaf(EMPTY_LEAF, n, state.expected);
    state.expected++;
    return;
  }
  if (!isObject(rec)) {
    state.malformed(n, `"record" must be a JSON object (got ${kindOf(rec)})`);
    state.addLeaf(EMPTY_LEAF, n, index as number);
    state.expected = Math.max(state.expected, (index as number) + 1);
    return;
  }
  const i = index as number;
  if (unknown.length > 0) state.malformed(n, `unexpected member ${show(unknown[0])} in a record line`);
  let leaf: Uint8Array = EMPTY_LEAF;
  if (fast && isCanonical(rec, fast.raw)) {
    leaf = leafOf(bytes.subarray(fast.start, bytes.length - 1));
  } else {
    let canonical: string | null = null;
    try {
      canonical = canonicalJson(rec);
    } catch (error) {
      state.malformed(
        n,
        `record ${i} is not representable as canonical JSON: ${clean((error as Error).message)}`,
      );
    }
    if (canonical !== null) {
      state.malformed(
        n,
        text.endsWith('\r')
          ? 'the line ends with a carriage return: exports use \\n line endings'
          : `record ${i} is not written exactly as hashed: the line must be ${RECORD_PREFIX}${i},"record":<the record's RFC 8785 canonical JSON>}`,
      );
      leaf = leafOf(Buffer.from(canonical, 'utf8'));
    }
  }
  if (rec['index'] !== i)
    state.tampered(n, `the record's own "index" is ${show(rec['index'])} but the line says ${i}`);
  if (typeof rec['time'] !== 'string' || !Number.isFinite(Date.parse(rec['time'])))
    state.malformed(n, `record ${i}: "time" must be an ISO 8601 date-time`);
  checkSequence(state, n, i);
  state.addLeaf(leaf, n, i);
}

/** The sequence 0, 1, 2, …: names the line where it breaks. */
function checkSequence(state: VerifyState, n: number, i: number): void {
  const expected = state.expected;
  const before = i < expected ? state.indexOf.indexOf(i) : -1;
  if (i === expected) state.expected++;
  else if (before >= 0)
    state.tampered(
      n,
      `record ${i} appears again (first on line ${state.lineOf[before]}): one of the two lines was inserted or copied`,
    );
  else if (i > expected) {
    state.tampered(
      n,
      `record ${i} where record ${expected} was expected: ${i - expected === 1 ? `record ${expected} is` : `records ${expected}..${i - 1} are`} missing (removed), or records were reordered`,
    );
    state.expected = i + 1;
  } else state.tampered(n, `record ${i} where record ${expected} was expected: records are out of order`);
}

/**
 * A record line in exactly the exporter's shape, `{"type":"record","index":<digits>,"record":<raw>}`, with
 * `raw` a JSON object: its index, the parsed record, its text and where it starts (characters and bytes
 * agree: the prefix is ASCII). `null` for anything else, which then takes the general path.
 */
export function fastRecord(text: string): FastRecord | null {
  if (!text.startsWith(RECORD_PREFIX) || !text.endsWith('}')) return null;
  let q = RECORD_PREFIX.length;
  while (q < text.length && text.charCodeAt(q) >= 0x30 && text.charCodeAt(q) <= 0x39) q++;
  const digits = text.slice(RECORD_PREFIX.length, q);
  if (digits.length === 0 || digits.length > 15 || (digits.length > 1 && digits.startsWith('0'))) return null;
  if (!text.startsWith(RECORD_MEMBER, q)) return null;
  const start = q + RECORD_MEMBER.length;
  const raw = text.slice(start, -1);
  if (!raw.startsWith('{')) return null;
  let record: unknown;
  try {
    record = JSON.parse(raw);
  } catch {
    return null;
  }
  return isObject(record) ? { index: Number(digits), record, raw, start } : null;
}

/**
 * Whether `raw` is exactly `canonicalJson(value)` (RFC 8785), where `value = JSON.parse(raw)`. Fast path:
 * `JSON.stringify` writes strings and numbers as JCS does and keeps the parsed member order, so equal
 * text with members sorted at every level is canonical. Otherwise (integer-like member names, which
 * JavaScript reorders) it compares with `canonicalJson` itself.
 */
export function isCanonical(value: unknown, raw: string): boolean {
  try {
    if (JSON.stringify(value) === raw && sorted(value)) return true;
    return canonicalJson(value) === raw;
  } catch {
    return false;
  }
}

/** Members sorted (UTF-16 code units) at every level, and every string well-formed (I-JSON). */
function sorted(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed();
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const v of value) if (!sorted(v)) return false;
    return true;
  }
  let previous: string | null = null;
  for (const key in value) {
    if ((previous !== null && !(previous < key)) || !key.isWellFormed()) return false;
    previous = key;
    if (!sorted((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

let scratch = Buffer.alloc(64 * 1024);

/** RFC 9162 leaf hash SHA-256(0x00 || bytes), without a copy per record beyond one scratch buffer. */
export function leafOf(bytes: Uint8Array): Uint8Array {
  if (bytes.length + 1 > scratch.length)
    scratch = Buffer.alloc(Math.max(bytes.length + 1, scratch.length * 2));
  scratch[0] = 0;
  scratch.set(bytes, 1);
  return hash('sha256', scratch.subarray(0, bytes.length + 1), 'buffer');
}
