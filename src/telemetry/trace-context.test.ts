import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  extractTraceContext,
  injectTraceContext,
  newSpanId,
  newTraceId,
  parseTraceparent,
} from './trace-context.ts';

// The examples of the W3C Trace Context recommendation.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const SAMPLED = `00-${TRACE_ID}-${PARENT_ID}-01`;
const NOT_SAMPLED = `00-${TRACE_ID}-${PARENT_ID}-00`;
const TRACESTATE = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';

describe('parseTraceparent', () => {
  test('accepts the W3C examples', () => {
    assert.deepEqual(parseTraceparent(SAMPLED), { traceId: TRACE_ID, spanId: PARENT_ID, sampled: true });
    assert.deepEqual(parseTraceparent(NOT_SAMPLED), { traceId: TRACE_ID, spanId: PARENT_ID, sampled: false });
  });

  test('the sampled flag is bit 0; other flag bits are read but not kept', () => {
    assert.equal(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-09`)?.sampled, true);
    assert.equal(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-02`)?.sampled, false);
  });

  const refused: Record<string, string> = {
    'version ff': `ff-${TRACE_ID}-${PARENT_ID}-01`,
    'version 01 (only 00 is read)': `01-${TRACE_ID}-${PARENT_ID}-01`,
    'trace id of 31 digits': `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`,
    'trace id of 33 digits': `00-${TRACE_ID}0-${PARENT_ID}-01`,
    'parent id of 15 digits': `00-${TRACE_ID}-${PARENT_ID.slice(1)}-01`,
    'parent id of 17 digits': `00-${TRACE_ID}-${PARENT_ID}0-01`,
    'flags of one digit': `00-${TRACE_ID}-${PARENT_ID}-1`,
    'flags of three digits': `00-${TRACE_ID}-${PARENT_ID}-001`,
    'uppercase trace id': `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`,
    'uppercase parent id': `00-${TRACE_ID}-00F067AA0BA902B7-01`,
    'uppercase flags': `00-${TRACE_ID}-${PARENT_ID}-0A`,
    'uppercase version': `0A-${TRACE_ID}-${PARENT_ID}-01`,
    'all-zero trace id': `00-${'0'.repeat(32)}-${PARENT_ID}-01`,
    'all-zero parent id': `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
    'a non-hex digit': `00-${TRACE_ID.slice(0, -1)}g-${PARENT_ID}-01`,
    'another separator': `00_${TRACE_ID}_${PARENT_ID}_01`,
    'leading space': ` ${SAMPLED}`,
    'trailing data': `${SAMPLED}-00`,
    'two values': `${SAMPLED}, ${NOT_SAMPLED}`,
    empty: '',
  };
  for (const [what, value] of Object.entries(refused)) {
    test(`refuses ${what}`, () => assert.equal(parseTraceparent(value), undefined));
  }
});

describe('extractTraceContext', () => {
  test('reads traceparent and tracestate from node:http headers', () => {
    assert.deepEqual(extractTraceContext({ traceparent: SAMPLED, tracestate: TRACESTATE }), {
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      sampled: true,
      tracestate: TRACESTATE,
    });
  });

  test('no traceparent, or an invalid one: no context, and tracestate is ignored', () => {
    assert.equal(extractTraceContext({}), undefined);
    assert.equal(extractTraceContext({ tracestate: TRACESTATE }), undefined);
    assert.equal(
      extractTraceContext({ traceparent: `ff-${TRACE_ID}-${PARENT_ID}-01`, tracestate: TRACESTATE }),
      undefined,
    );
    // node:http gives repeated unknown headers joined, or as an array: several traceparents are invalid.
    assert.equal(extractTraceContext({ traceparent: [SAMPLED, NOT_SAMPLED] }), undefined);
  });

  test('several tracestate headers are one list; an unusable tracestate is dropped, the parent kept', () => {
    assert.equal(
      extractTraceContext({ traceparent: SAMPLED, tracestate: ['rojo=1', 'congo=2'] })?.tracestate,
      'rojo=1,congo=2',
    );
    for (const bad of ['a=1\u0007', 'a=\u00e9', `a=${'x'.repeat(600)}`, '']) {
      const got = extractTraceContext({ traceparent: SAMPLED, tracestate: bad });
      assert.equal(got?.traceId, TRACE_ID);
      assert.equal(got?.tracestate, undefined);
    }
  });
});

describe('injectTraceContext', () => {
  test('round-trips through extract', () => {
    const context = { traceId: TRACE_ID, spanId: 'b7ad6b7169203331', sampled: true, tracestate: TRACESTATE };
    const headers = injectTraceContext(context);
    assert.deepEqual(headers, { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`, tracestate: TRACESTATE });
    assert.deepEqual(extractTraceContext(headers), context);
    const bare = { traceId: TRACE_ID, spanId: PARENT_ID, sampled: false };
    assert.deepEqual(injectTraceContext(bare), { traceparent: NOT_SAMPLED });
    assert.deepEqual(extractTraceContext(injectTraceContext(bare)), bare);
  });
});

describe('new ids', () => {
  test('lowercase hex of the right length, not repeating', () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = newTraceId();
      const s = newSpanId();
      assert.match(t, /^[0-9a-f]{32}$/);
      assert.match(s, /^[0-9a-f]{16}$/);
      traces.add(t);
      spans.add(s);
    }
    assert.equal(traces.size, 2000);
    assert.equal(spans.size, 2000);
    assert.ok(parseTraceparent(`00-${newTraceId()}-${newSpanId()}-01`));
  });
});
