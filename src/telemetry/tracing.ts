/**
 * OpenTelemetry tracing of one server, off by default. The standard environment turns it on:
 * `OTEL_TRACES_EXPORTER=otlp` (or `console`), or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); `OTEL_SDK_DISABLED=true` keeps it off whatever else is set;
 * `OTEL_SERVICE_NAME` names the service (default `warrant-<service>`). Tests use the in-memory exporter.
 *
 * Off or on, every request gets a trace: the caller's trace id (or a new one), a new span id, and the
 * `traceparent` to send upstream, so the trace id reaches the upstream and the ledger record either way.
 * Off, that is a few string operations and no SDK object (the SDK is not even loaded); on, it is a real
 * span, exported when it ends.
 */
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import packageJson from '../../package.json' with { type: 'json' };
import {
  extractTraceContext,
  formatTraceparent,
  type HeaderBag,
  newSpanId,
  newTraceId,
  type TraceParent,
} from './trace-context.ts';

/** One span of work (a request, a decision, an exchange): its ids, and the headers for the next hop. */
export interface RequestTrace extends TraceParent {
  /** `traceparent` for the upstream request: this trace id, this span as the parent, the sampled flag. */
  readonly traceparent: string;
  /** Whether a span is being recorded (tracing on and sampled). */
  readonly recording: boolean;
  /** The OpenTelemetry span, when tracing is on. */
  readonly span?: Span;
  /** Adds attributes to the span (nothing when off). Never a token: a token hash at most. */
  setAttributes(attributes: Attributes): void;
  /**
   * Ends the span: `status` becomes `http.response.status_code` (a 5xx marks the span as an error),
   * `code` becomes `warrant.code`. Nothing when off.
   */
  end(result?: { readonly status?: number; readonly code?: string }): void;
}

export type SpanKindName = 'server' | 'client' | 'internal';

export interface Tracing {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  /** The span of an incoming request, child of the caller's `traceparent` when valid; kind `server`. */
  traceContextFor(headers: HeaderBag, name?: string, attributes?: Attributes): RequestTrace;
  /** A span under `parent` (an extracted context or another RequestTrace), or in a new trace. */
  startSpan(name: string, parent?: TraceParent, attributes?: Attributes, kind?: SpanKindName): RequestTrace;
  /** The spans ended so far (in-memory exporter only; empty otherwise). */
  finishedSpans(): readonly ReadableSpan[];
  /** Exports what is buffered and stops; call when the server closes. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Which server traces (`sts`, `gateway`, `dev`, …); the service name is `warrant-<service>`. */
  readonly service: string;
  /** Where the `OTEL_*` variables are read; `process.env` by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `memory`: on whatever the environment says, spans kept for `finishedSpans()` (tests). */
  readonly exporter?: 'memory';
}

/** What the environment asks for. */
export interface TracingMode {
  readonly enabled: boolean;
  readonly exporters: readonly ('otlp' | 'console')[];
  readonly serviceName: string;
  /** The OTLP/HTTP traces URL, when the environment names one. */
  readonly url?: string;
}

const EXPORTERS = ['otlp', 'console', 'none'];

/**
 * Reads the standard `OTEL_*` variables. Unlike the OpenTelemetry default, tracing is off unless an
 * exporter or an endpoint is named. An unsupported exporter or protocol is a TypeError (at start-up).
 */
export function tracingMode(service: string, env: Readonly<Record<string, string | undefined>>): TracingMode {
  const serviceName = serviceNameOf(service, env);
  const off: TracingMode = { enabled: false, exporters: [], serviceName };
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return off;
  const named = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const name of named)
    if (!EXPORTERS.includes(name))
      throw new TypeError(
        `OTEL_TRACES_EXPORTER: unsupported exporter ${JSON.stringify(name)}; use ${EXPORTERS.join(', ')}`,
      );
  const tracesEndpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  const endpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  let exporters: ('otlp' | 'console')[];
  if (named.length > 0) {
    if (named.includes('none')) return off;
    exporters = [...new Set(named as ('otlp' | 'console')[])];
  } else if (tracesEndpoint || endpoint) {
    exporters = ['otlp'];
  } else {
    return off;
  }
  if (exporters.includes('otlp')) {
    const protocol = (
      env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ??
      env['OTEL_EXPORTER_OTLP_PROTOCOL'] ??
      ''
    ).trim();
    if (protocol !== '' && protocol !== 'http/json' && protocol !== 'http/protobuf')
      throw new TypeError(
        `OTEL_EXPORTER_OTLP_PROTOCOL: ${JSON.stringify(protocol)} is not supported; Warrant exports OTLP over HTTP (http/json or http/protobuf endpoints)`,
      );
  }
  const url = tracesEndpoint
    ? tracesEndpoint
    : endpoint
      ? `${endpoint.replace(/\/+$/, '')}/v1/traces`
      : undefined;
  return { enabled: true, exporters, serviceName, ...(url === undefined ? {} : { url }) };
}

function serviceNameOf(service: string, env: Readonly<Record<string, string | undefined>>): string {
  return env['OTEL_SERVICE_NAME']?.trim() || `warrant-${service}`;
}

const noop = (): void => {};

/** A request's trace when tracing is off: ids and headers only. */
function untraced(parent: TraceParent | undefined): RequestTrace {
  const traceId = parent === undefined ? newTraceId() : parent.traceId;
  const spanId = newSpanId();
  const sampled = parent?.sampled === true;
  return {
    traceId,
    spanId,
    sampled,
    ...(parent?.tracestate === undefined ? {} : { tracestate: parent.tracestate }),
    traceparent: formatTraceparent(traceId, spanId, sampled),
    recording: false,
    setAttributes: noop,
    end: noop,
  };
}

/** Tracing off: what a server uses when given no tracing. */
export const TRACING_OFF: Tracing = Object.freeze({
  enabled: false,
  traceContextFor: (headers: HeaderBag) => untraced(extractTraceContext(headers)),
  startSpan: (_name: string, parent?: TraceParent) => untraced(parent),
  finishedSpans: () => [],
  shutdown: async () => {},
});

/**
 * The tracing of one server, from the environment (or in memory for tests). Off, it is `TRACING_OFF`
 * and the OpenTelemetry SDK is not loaded. A bad `OTEL_*` value is a TypeError.
 */
export async function createTracing(options: TracingOptions): Promise<Tracing> {
  if (typeof options.service !== 'string' || options.service === '')
    throw new TypeError('createTracing: service must be a non-empty string');
  const env = options.env ?? process.env;
  const memory = options.exporter === 'memory';
  const mode = memory ? undefined : tracingMode(options.service, env);
  if (mode?.enabled === false) return TRACING_OFF;
  const serviceName = mode?.serviceName ?? serviceNameOf(options.service, env);

  const [api, sdk, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
  ]);
  const kept = memory ? new sdk.InMemorySpanExporter() : undefined;
  const processors = [];
  if (kept) processors.push(new sdk.SimpleSpanProcessor(kept));
  else if (mode) {
    if (mode.exporters.includes('otlp')) {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      processors.push(
        new sdk.BatchSpanProcessor(new OTLPTraceExporter(mode.url === undefined ? {} : { url: mode.url })),
      );
    }
    if (mode.exporters.includes('console'))
      processors.push(new sdk.SimpleSpanProcessor(new sdk.ConsoleSpanExporter()));
  }
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': serviceName,
      'service.namespace': 'warrant',
      'service.version': packageJson.version,
    }),
    spanProcessors: processors,
  });
  const tracer: Tracer = provider.getTracer('warrant', packageJson.version);
  const kinds = {
    server: api.SpanKind.SERVER,
    client: api.SpanKind.CLIENT,
    internal: api.SpanKind.INTERNAL,
  } as const;

  const startSpan = (
    name: string,
    parent?: TraceParent,
    attributes?: Attributes,
    kind: SpanKindName = 'internal',
  ): RequestTrace => {
    let context = api.ROOT_CONTEXT;
    const local = (parent as RequestTrace | undefined)?.span;
    if (local !== undefined) context = api.trace.setSpan(context, local);
    else if (parent !== undefined)
      context = api.trace.setSpanContext(context, {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
        isRemote: true,
        ...(parent.tracestate === undefined ? {} : { traceState: api.createTraceState(parent.tracestate) }),
      });
    const span = tracer.startSpan(
      name,
      { kind: kinds[kind], ...(attributes ? { attributes } : {}) },
      context,
    );
    const sc = span.spanContext();
    const sampled = (sc.traceFlags & api.TraceFlags.SAMPLED) === api.TraceFlags.SAMPLED;
    const tracestate = sc.traceState?.serialize() || undefined;
    return {
      traceId: sc.traceId,
      spanId: sc.spanId,
      sampled,
      ...(tracestate === undefined ? {} : { tracestate }),
      traceparent: formatTraceparent(sc.traceId, sc.spanId, sampled),
      recording: span.isRecording(),
      span,
      setAttributes: (a) => void span.setAttributes(a),
      end(result) {
        if (result?.status !== undefined) {
          span.setAttribute('http.response.status_code', result.status);
          if (result.status >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
        }
        if (result?.code !== undefined) span.setAttribute('warrant.code', result.code);
        span.end();
      },
    };
  };

  return {
    enabled: true,
    traceContextFor: (headers, name = 'request', attributes) =>
      startSpan(name, extractTraceContext(headers), attributes, 'server'),
    startSpan,
    finishedSpans: () => kept?.getFinishedSpans() ?? [],
    shutdown: () => provider.shutdown(),
  };
}
