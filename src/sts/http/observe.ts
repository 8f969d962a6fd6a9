/**
 * What the STS tells its operators about each request: one access line (endpoint, status, grant type,
 * OAuth error and Warrant code, latency, the issued or presented token's hash — never a token, never a
 * client assertion), the exchange figures for `/token`, and a span per request when tracing is on (a
 * `/token` request is the span `warrant.exchange`), child of the caller's `traceparent`.
 *
 * Probes and scrapes (`/healthz`, `/readyz`, `/metrics`) write no access line and no span: they come every
 * few seconds and say nothing about the traffic.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  accessLog,
  type ExchangeOutcome,
  type Logger,
  type Metrics,
  type RequestTrace,
  serializeError,
  TRACING_OFF,
  type Tracing,
} from '../../telemetry/index.ts';
import type { OAuthError } from '../oauth-error.ts';

export interface StsTelemetry {
  /** Access lines and errors; nothing is logged without one. */
  readonly logger?: Logger;
  /** `metrics.sts` counts the exchanges; nothing is counted without one. */
  readonly metrics?: Metrics;
  /** Spans per request; `TRACING_OFF` by default (trace ids are still read and logged). */
  readonly tracing?: Tracing;
}

/** What the endpoint learnt while answering, for the access line. Hashes only. */
export interface RequestNote {
  /** `/token`: the `grant_type` sent, when it is one the STS supports; `other` otherwise. */
  grantType?: string;
  /** The issued token's hash (`/token`), or the presented token's (`/introspect`, `/revoke`). */
  tokenHash?: string;
  txn?: string;
  /** The refusal answered, if any. */
  error?: OAuthError;
}

export interface Observation {
  readonly note: RequestNote;
  readonly trace: RequestTrace | undefined;
  /** Writes the access line, counts the exchange and ends the span: call once the answer is written. */
  finish(res: ServerResponse): void;
  /** Logs an error nobody expected (answered 500), with the request's route and trace id. */
  unexpected(error: unknown): void;
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** The route of a path, as logged and traced: the endpoint, with the variable part of a path named. */
export function routeOf(path: string, known: (path: string) => boolean): string {
  if (known(path)) return path;
  if (path.startsWith('/status/')) return '/status/{id}';
  if (path === '/admin' || path.startsWith('/admin/')) return '/admin';
  return 'none';
}

/** Starts observing one request (before anything is read from it). */
export function observe(
  telemetry: StsTelemetry,
  req: IncomingMessage,
  path: string,
  route: string,
): Observation {
  const started = process.hrtime.bigint();
  const note: RequestNote = {};
  const { logger, metrics } = telemetry;
  const probe = PROBES.has(path);
  const exchange = path === '/token';
  const trace = probe
    ? undefined
    : (telemetry.tracing ?? TRACING_OFF).traceContextFor(
        req.headers,
        exchange ? 'warrant.exchange' : `${req.method} ${route}`,
        { 'http.request.method': req.method ?? '', 'http.route': route },
      );
  return {
    note,
    trace,
    finish(res) {
      const status = res.statusCode;
      const code = note.error?.code;
      if (exchange && metrics) {
        const outcome: ExchangeOutcome = status < 400 ? 'issued' : status < 500 ? 'refused' : 'error';
        metrics.sts.exchange(note.grantType ?? 'none', outcome, started, code);
      }
      if (trace) {
        if (trace.recording) {
          const attributes: Record<string, string> = {};
          if (note.grantType !== undefined) attributes['warrant.grant_type'] = note.grantType;
          if (note.tokenHash !== undefined) attributes['warrant.token_hash'] = note.tokenHash;
          if (note.txn !== undefined) attributes['warrant.txn'] = note.txn;
          if (note.error !== undefined) attributes['oauth.error'] = note.error.error;
          trace.setAttributes(attributes);
        }
        trace.end({ status, ...(code === undefined ? {} : { code }) });
      }
      if (!logger || probe) return;
      accessLog(logger, {
        route,
        method: req.method ?? '',
        path,
        status,
        ...(exchange ? { decision: status < 400 ? 'issued' : status < 500 ? 'refused' : 'error' } : {}),
        ...(code === undefined ? {} : { code }),
        ...(note.error === undefined ? {} : { oauthError: note.error.error }),
        ...(note.grantType === undefined ? {} : { grantType: note.grantType }),
        latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
        ...(note.txn === undefined ? {} : { txn: note.txn }),
        ...(note.tokenHash === undefined ? {} : { tokenHash: note.tokenHash }),
        ...(trace === undefined ? {} : { traceId: trace.traceId }),
      });
      // The refusal's description (never a token: descriptions name what is wrong, not what was sent).
      if (note.error !== undefined && logger.isLevelEnabled('debug'))
        logger.debug(
          { route, err: serializeError(note.error, status), traceId: trace?.traceId },
          note.error.message,
        );
    },
    unexpected(error) {
      logger?.error(
        { route, err: serializeError(error, 500), traceId: trace?.traceId },
        'request failed: nothing was issued',
      );
    },
  };
}
