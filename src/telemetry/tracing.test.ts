import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { extractTraceContext, injectTraceContext } from './trace-context.ts';
import { createTracing, TRACING_OFF, tracingMode } from './tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const INCOMING = { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'rojo=00f067aa0ba902b7' };

describe('tracingMode (the standard OTEL_* variables)', () => {
  test('off by default', () => {
    assert.deepEqual(tracingMode('gateway', {}), {
      enabled: false,
      exporters: [],
      serviceName: 'warrant-gateway',
    });
  });

  test('on with OTEL_TRACES_EXPORTER=otlp (and console), or with an OTLP endpoint', () => {
    assert.deepEqual(tracingMode('sts', { OTEL_TRACES_EXPORTER: 'otlp' }).exporters, ['otlp']);
    assert.deepEqual(tracingMode('sts', { OTEL_TRACES_EXPORTER: ' otlp , console' }).exporters, [
      'otlp',
      'console',
    ]);
    const viaEndpoint = tracingMode('sts', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    assert.equal(viaEndpoint.enabled, true);
    assert.equal(viaEndpoint.url, 'http://collector:4318/v1/traces');
    const viaTraces = tracingMode('sts', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' });
    assert.deepEqual([viaTraces.enabled, viaTraces.url], [true, 'http://c:4318/custom']);
  });

  test('OTEL_SDK_DISABLED=true wins; OTEL_TRACES_EXPORTER=none is off', () => {
    const all = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    assert.equal(tracingMode('sts', { ...all, OTEL_SDK_DISABLED: 'true' }).enabled, false);
    assert.equal(tracingMode('sts', { ...all, OTEL_SDK_DISABLED: 'TRUE' }).enabled, false);
    assert.equal(tracingMode('sts', { ...all, OTEL_SDK_DISABLED: 'false' }).enabled, true);
    assert.equal(tracingMode('sts', { ...all, OTEL_TRACES_EXPORTER: 'none' }).enabled, false);
  });

  test('OTEL_SERVICE_NAME names the service', () => {
    assert.equal(tracingMode('sts', { OTEL_SERVICE_NAME: 'sts-eu-1' }).serviceName, 'sts-eu-1');
  });

  test('an unsupported exporter or protocol is a TypeError naming the variable', () => {
    assert.throws(
      () => tracingMode('sts', { OTEL_TRACES_EXPORTER: 'jaeger' }),
      /OTEL_TRACES_EXPORTER.*jaeger/,
    );
    assert.throws(
      () => tracingMode('sts', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
      (e: unknown) => e instanceof TypeError && /OTEL_EXPORTER_OTLP_PROTOCOL/.test(e.message),
    );
    assert.equal(
      tracingMode('sts', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })
        .enabled,
      true,
    );
  });
});

describe('tracing off', () => {
  test('createTracing returns TRACING_OFF when the environment does not ask for traces', async () => {
    assert.equal(await createTracing({ service: 'gateway', env: {} }), TRACING_OFF);
    assert.equal(
      await createTracing({
        service: 'gateway',
        env: { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' },
      }),
      TRACING_OFF,
    );
  });

  test('the incoming trace id is kept, a new span id made, traceparent and tracestate forwarded', () => {
    const t = TRACING_OFF.traceContextFor(INCOMING, 'request');
    assert.equal(t.traceId, TRACE_ID);
    assert.match(t.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(t.spanId, PARENT_ID);
    assert.equal(t.sampled, true);
    assert.equal(t.recording, false);
    assert.equal(t.span, undefined);
    assert.equal(t.traceparent, `00-${TRACE_ID}-${t.spanId}-01`);
    assert.deepEqual(injectTraceContext(t), { traceparent: t.traceparent, tracestate: INCOMING.tracestate });
    t.setAttributes({ a: 1 });
    t.end({ status: 200 });
  });

  test('no (or an invalid) traceparent: a new trace, not sampled', () => {
    for (const headers of [{}, { traceparent: `ff-${TRACE_ID}-${PARENT_ID}-01` }]) {
      const t = TRACING_OFF.traceContextFor(headers);
      assert.match(t.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(t.traceId, TRACE_ID);
      assert.equal(t.sampled, false);
      assert.equal(t.traceparent, `00-${t.traceId}-${t.spanId}-00`);
      assert.equal(t.tracestate, undefined);
    }
  });

  test('a child span stays in the trace, with its own span id', () => {
    const request = TRACING_OFF.traceContextFor(INCOMING);
    const child = TRACING_OFF.startSpan('ledger.append', request);
    assert.equal(child.traceId, TRACE_ID);
    assert.notEqual(child.spanId, request.spanId);
  });
});

describe('tracing on (in-memory exporter)', () => {
  test('a request span carries the incoming trace id, its parent is the caller span', async () => {
    const tracing = await createTracing({ service: 'gateway', exporter: 'memory', env: {} });
    assert.equal(tracing.enabled, true);
    const t = tracing.traceContextFor(INCOMING, 'warrant.decision', { 'http.request.method': 'GET' });
    assert.equal(t.traceId, TRACE_ID);
    assert.notEqual(t.spanId, PARENT_ID);
    assert.equal(t.recording, true);
    assert.ok(t.span);
    t.setAttributes({ 'warrant.decision': 'deny' });
    t.end({ status: 403, code: 'WARRANT_CALL_DENIED' });

    const [span] = tracing.finishedSpans();
    assert.equal(span!.name, 'warrant.decision');
    assert.equal(span!.kind, SpanKind.SERVER);
    assert.equal(span!.spanContext().traceId, TRACE_ID);
    assert.equal(span!.spanContext().spanId, t.spanId);
    assert.equal(span!.parentSpanContext?.spanId, PARENT_ID);
    assert.deepEqual(span!.attributes, {
      'http.request.method': 'GET',
      'warrant.decision': 'deny',
      'http.response.status_code': 403,
      'warrant.code': 'WARRANT_CALL_DENIED',
    });
    assert.equal(span!.status.code, SpanStatusCode.UNSET, 'a 4xx is not a server error');
    assert.equal(span!.resource.attributes['service.name'], 'warrant-gateway');
    assert.equal(span!.spanContext().traceState?.get('rojo'), '00f067aa0ba902b7');

    // What goes upstream names this span as the parent, and reads back to it.
    const up = injectTraceContext(t);
    assert.equal(up.traceparent, `00-${TRACE_ID}-${t.spanId}-01`);
    assert.equal(up.tracestate, INCOMING.tracestate);
    assert.deepEqual(extractTraceContext(up), {
      traceId: TRACE_ID,
      spanId: t.spanId,
      sampled: true,
      tracestate: INCOMING.tracestate,
    });
    await tracing.shutdown();
  });

  test('without a traceparent the span starts a new trace; a 5xx marks it as an error', async () => {
    const tracing = await createTracing({
      service: 'sts',
      exporter: 'memory',
      env: { OTEL_SERVICE_NAME: 'sts-a' },
    });
    const t = tracing.traceContextFor({ traceparent: 'garbage' }, 'warrant.exchange');
    assert.notEqual(t.traceId, TRACE_ID);
    t.end({ status: 503 });
    const [span] = tracing.finishedSpans();
    assert.equal(span!.parentSpanContext, undefined);
    assert.equal(span!.status.code, SpanStatusCode.ERROR);
    assert.equal(span!.resource.attributes['service.name'], 'sts-a');
    await tracing.shutdown();
  });

  test('a child span of a request span is in the same trace, parented to it', async () => {
    const tracing = await createTracing({ service: 'gateway', exporter: 'memory', env: {} });
    const request = tracing.traceContextFor(INCOMING, 'warrant.decision');
    const child = tracing.startSpan('warrant.ledger.append', request, { records: 1 });
    child.end();
    request.end({ status: 200 });
    const [c, r] = tracing.finishedSpans();
    assert.equal(c!.spanContext().traceId, TRACE_ID);
    assert.equal(c!.parentSpanContext?.spanId, r!.spanContext().spanId);
    assert.equal(c!.kind, SpanKind.INTERNAL);
    await tracing.shutdown();
  });

  test('a caller that did not sample: nothing recorded, the trace still propagated unsampled', async () => {
    const tracing = await createTracing({ service: 'gateway', exporter: 'memory', env: {} });
    const t = tracing.traceContextFor({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` });
    assert.equal(t.recording, false);
    assert.equal(t.traceId, TRACE_ID);
    assert.notEqual(t.spanId, PARENT_ID);
    assert.equal(t.traceparent, `00-${TRACE_ID}-${t.spanId}-00`);
    t.end();
    assert.equal(tracing.finishedSpans().length, 0);
    await tracing.shutdown();
  });
});

describe('tracing on (OTLP/HTTP from the environment)', () => {
  test('spans reach the collector named by OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const bodies: string[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const port = (collector.address() as AddressInfo).port;
    try {
      const tracing = await createTracing({
        service: 'gateway',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
      });
      assert.equal(tracing.enabled, true);
      tracing.traceContextFor(INCOMING, 'warrant.decision').end({ status: 200 });
      await tracing.shutdown();
      assert.equal(bodies.length, 1);
      assert.match(bodies[0]!, /^POST \/v1\/traces application\/json /);
      assert.ok(bodies[0]!.includes('warrant.decision'));
      // OTLP/JSON carries ids as hex.
      assert.ok(bodies[0]!.includes(TRACE_ID));
    } finally {
      collector.close();
    }
  });
});
