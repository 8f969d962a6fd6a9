/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) without the OpenTelemetry SDK: reading an
 * incoming `traceparent`/`tracestate`, making trace and span ids, writing the headers for the upstream.
 * This is the whole cost of tracing when it is off, so it stays small: a regular expression, a slice of
 * a pooled random buffer, a string.
 */
import { randomFillSync } from 'node:crypto';

/** The trace a request belongs to, and the span that is its parent (or that it is, once started). */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span when extracted from headers. */
  readonly spanId: string;
  /** The caller (may have) recorded this trace: the `sampled` flag. */
  readonly sampled: boolean;
  /** The vendor list, forwarded unchanged (absent when missing or unusable). */
  readonly tracestate?: string;
}

/** Headers as node:http gives them (lower-case names). */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Version 00 only; ids and flags in lowercase hex. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';
/** What is forwarded as `tracestate`: printable ASCII (a header value that cannot break the request), ≤ 512. */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/**
 * A `traceparent` value read strictly: version `00`, a 32-digit trace id and a 16-digit parent id in
 * lowercase hex, neither all zeros, two hex flag digits. Anything else is `undefined` (ignored).
 */
export function parseTraceparent(
  value: string | undefined,
): { traceId: string; spanId: string; sampled: boolean } | undefined {
  if (value === undefined || value.length !== 55) return undefined;
  const m = TRACEPARENT.exec(value);
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, sampled: (Number.parseInt(m[3]!, 16) & 1) === 1 };
}

/**
 * The caller's trace from the request headers, or `undefined` when there is none or it is invalid
 * (then `tracestate` is ignored too, as the specification requires). Several `traceparent` headers are
 * invalid; several `tracestate` headers are one list.
 */
export function extractTraceContext(headers: HeaderBag): TraceParent | undefined {
  const raw = headers['traceparent'];
  if (typeof raw !== 'string') return undefined;
  const parent = parseTraceparent(raw);
  if (parent === undefined) return undefined;
  const rawState = headers['tracestate'];
  const state = typeof rawState === 'string' ? rawState : rawState?.join(',');
  return state !== undefined && TRACESTATE.test(state) ? { ...parent, tracestate: state } : parent;
}

/** The headers that carry `trace` to the next hop: its trace id, its span as the parent, its flags. */
export function injectTraceContext(trace: TraceParent): { traceparent: string; tracestate?: string } {
  const traceparent = formatTraceparent(trace.traceId, trace.spanId, trace.sampled);
  return trace.tracestate === undefined ? { traceparent } : { traceparent, tracestate: trace.tracestate };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

// Ids come from a pooled buffer of CSPRNG bytes, refilled 4 KiB at a time.
const pool = Buffer.allocUnsafe(4096);
let at = pool.length;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (at + bytes > pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    const hex = pool.toString('hex', at, at + bytes);
    at += bytes;
    if (hex !== zero) return hex;
  }
}

/** A new random trace id (16 bytes, lowercase hex, never all zero). */
export function newTraceId(): string {
  return randomHex(16, ZERO_TRACE);
}

/** A new random span id (8 bytes, lowercase hex, never all zero). */
export function newSpanId(): string {
  return randomHex(8, ZERO_SPAN);
}
