/**
 * Telemetry on the request path, per request, beside one raw Ed25519 verification measured in the same
 * run: the trace context with tracing off (with and without an incoming traceparent: this runs on every
 * gateway request), the gateway's metrics (a decision and a duration), and one access log line (JSON,
 * censored, written to a stream that drops it). Tracing on is not measured here: its span processors
 * export asynchronously, which a synchronous loop cannot measure fairly.
 */
import { accessLog } from '../src/telemetry/access-log.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { TRACING_OFF } from '../src/telemetry/tracing.ts';
import { ed25519Verification, measure, report } from './lib/measure.ts';

export function run(): void {
  const baseline = measure('node:crypto Ed25519 verify (raw)', ed25519Verification(Buffer.alloc(600, 7)));

  const incoming = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', host: 'gw' };
  const bare = { host: 'gw' };
  const metrics = createMetrics('gateway');
  const logger = createLogger({ service: 'gateway', level: 'info', destination: { write: () => {} } });
  const fields = {
    route: '/crm',
    method: 'GET',
    path: '/crm/contacts/1',
    status: 200,
    decision: 'allow',
    latencyMs: 0.412,
    txn: 'a1b2c3d4-0000-4000-8000-000000000000',
    tokenHash: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  };
  report('telemetry per request (cost relative to one raw Ed25519 verification)', baseline, [
    measure('trace context, tracing off, incoming traceparent', () => TRACING_OFF.traceContextFor(incoming)),
    measure('trace context, tracing off, new trace', () => TRACING_OFF.traceContextFor(bare)),
    measure('gateway metrics: decision + duration', () => {
      metrics.gateway.decision('allow');
      metrics.gateway.observe(process.hrtime.bigint(), '/crm', 'allow');
    }),
    measure('access log line (JSON, redaction on)', () => accessLog(logger, fields)),
  ]);
}
