/**
 * Operability of every server (DESIGN §7): structured logs, Prometheus metrics, W3C trace context and
 * OpenTelemetry spans. docs/operations.md describes what they write; src/telemetry/instruments.ts is
 * internal.
 */
export * from './access-log.ts';
export * from './censor.ts';
export * from './log-error.ts';
export * from './log-level.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './settings.ts';
export * from './trace-context.ts';
export * from './tracing.ts';
