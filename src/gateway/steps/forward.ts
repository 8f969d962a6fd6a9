/**
 * Step 7, forward (DESIGN §7): the allowed request goes to the route's upstream with the verified identity
 * headers and without the caller's credentials, and the answer streams back (an MCP `tools/list` answer
 * filtered first). Then the outcome record says what became of the call — forwarded and answered, or
 * not — and rides with the next durable batch. Forwarding never throws for what the upstream or the
 * caller does: a failure before the upstream answered becomes the refusal to send (502/504/413).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import type { Pool } from 'undici';
import { streaming } from '../../core/load.ts';
import { limitedBody, sendContinue } from '../../http/body.ts';
import type { DecisionRecord } from '../../ledger/decision-log.ts';
import {
  DEFAULT_STREAM_IDLE_MS,
  type Forwarded,
  type GatewayCall,
  type GatewayStep,
  need,
} from '../context.ts';
import { GatewayError } from '../gateway-error.ts';
import { compensationCopy } from './compensation-copy.ts';
import { filterToolsList, listsTools } from './filter-tools-list.ts';
import { forwardable, setIdentityHeaders, txnTokenFor } from './forward-headers.ts';
import {
  listChangedWatcher,
  pinAgentCard,
  pinnedTools,
  pinsToolsList,
  readsAgentCard,
} from './pin-answers.ts';

export const forward: GatewayStep = {
  name: 'forward',
  async run(call: GatewayCall): Promise<void> {
    const decisionId = need(call.decisionId, 'decisionId');
    const forwarded = await forwardUpstream(call, decisionId).catch(failedForward);
    call.forwarded = forwarded;
    noteOutcome(call, decisionId, forwarded);
    if (forwarded.refusal) throw forwarded.refusal;
  },
};

async function forwardUpstream(call: GatewayCall, decisionId: string): Promise<Forwarded> {
  const { req, res, body, gw } = call;
  const route = need(call.route, 'route');
  const url = need(call.url, 'url');
  const upstream = new URL(call.upstream ?? route.upstream);
  const pool = gw.pool(upstream.origin);
  const headers = forwardable(req.headers, true);
  // An answer the gateway reads (a tools/list to filter, an agent card to compare with the pins) must come
  // uncompressed: a compressed one could not be read, and would pass unfiltered.
  if (listsTools(call) || readsAgentCard(call)) delete headers['accept-encoding'];
  // The upstream's own Host and Origin checks (e.g. MCP DNS-rebinding protection) see what the caller
  // sent, which the gateway has checked against the route; X-Forwarded-Host/Proto say it either way.
  if (route.preserveHost !== false) headers['host'] = call.host;
  headers['x-forwarded-host'] = call.host;
  headers['x-forwarded-proto'] = call.scheme;
  await setIdentityHeaders(
    headers,
    need(call.presented, 'presented'),
    route.audience,
    decisionId,
    need(call.verdict, 'verdict').grants,
    call.txnToken ?? txnTokenFor(call, decisionId),
  );
  if (body) headers['content-length'] = String(body.length);
  // W3C trace context: the upstream's parent is this request's span (same trace id, new parent id); the
  // caller's `tracestate` goes on only with a valid `traceparent`.
  headers['traceparent'] = call.trace.traceparent;
  if (call.trace.tracestate !== undefined) headers['tracestate'] = call.trace.tracestate;
  const basePath = upstream.pathname.replace(/\/+$/, '');
  const rest =
    route.match.pathPrefix === '/'
      ? url.pathname
      : url.pathname.slice(route.match.pathPrefix.replace(/\/+$/, '').length);
  const path = `${basePath}${rest}` || '/';
  let limited: NodeJS.ReadableStream | undefined;
  if (!body && req.method !== 'GET' && req.method !== 'HEAD') {
    // The caller may now send the body it held back for `Expect: 100-continue`.
    sendContinue(req, res);
    limited = limitedBody(req, gw.limits.maxBodyBytes);
  }
  // A caller that goes away (e.g. an MCP client closing its SSE stream) releases the upstream request too.
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const callerGone = () => abort.signal.aborted;
  let response: Awaited<ReturnType<Pool['request']>>;
  try {
    response = await pool.request({
      method: (req.method ?? 'GET') as 'GET',
      path: `${path}${url.search}`,
      headers,
      body: body ?? (limited as never) ?? null,
      signal: abort.signal,
      // An answer the gateway reads whole stalls under the upstream timeout (undici's); a streamed one is
      // watched below, with its own idle limit when it is an event stream.
      bodyTimeout: listsTools(call) || readsAgentCard(call) ? gw.limits.upstreamTimeoutMs : 0,
      // With the caller's Host preserved, TLS still names and verifies the upstream itself (undici would
      // otherwise take the SNI name from the Host header). An IP address is passed too: TLS then verifies
      // the certificate against it (node warns once that an IP is never sent as SNI).
      ...(upstream.protocol === 'https:' ? { servername: upstream.hostname.replace(/^\[|\]$/g, '') } : {}),
    });
  } catch (cause) {
    const code = errorClass(cause);
    if (callerGone()) return { outcome: 'client_aborted', error: code };
    if (code === 'WARRANT_BODY_TOO_LARGE') {
      const refusal = new GatewayError('WARRANT_BODY_TOO_LARGE', 'the request body is too large');
      return { outcome: 'request_too_large', status: 413, refusal };
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      const refusal = new GatewayError('WARRANT_UPSTREAM_TIMEOUT', 'the upstream did not answer in time', {
        cause,
      });
      return { outcome: 'upstream_timeout', status: 504, error: code, refusal };
    }
    const refusal = new GatewayError('WARRANT_UPSTREAM_FAILED', 'the upstream could not be reached', {
      cause,
    });
    return { outcome: 'upstream_failed', status: 502, error: code, refusal };
  }
  const upstreamStatus = response.statusCode;
  const out = forwardable(response.headers, false);
  const card = upstreamStatus === 200 && readsAgentCard(call);
  if (listsTools(call) || card) {
    let text: string;
    try {
      text = await response.body.text();
    } catch (cause) {
      const code = errorClass(cause);
      if (callerGone()) return { outcome: 'client_aborted', error: code };
      const refusal = new GatewayError('WARRANT_UPSTREAM_FAILED', 'the upstream answer broke off', {
        cause,
      });
      return { outcome: 'upstream_interrupted', status: 502, error: code, refusal };
    }
    const contentType = String(response.headers['content-type'] ?? '');
    // Pinned tools: what the server shows is compared with the pins every time (src/guard/pins/).
    const filtered = card
      ? await pinAgentCard(call, text)
      : filterToolsList(
          call,
          text,
          contentType,
          pinsToolsList(call) ? await pinnedTools(call, text, contentType) : undefined,
        );
    out['content-length'] = String(Buffer.byteLength(filtered));
    res.writeHead(upstreamStatus, out);
    res.end(filtered);
    return { outcome: (await delivered(res)) ? 'forwarded' : 'client_aborted', status: upstreamStatus };
  }
  if (response.headers['content-length'] !== undefined)
    out['content-length'] = String(response.headers['content-length']);
  // The values a compensation of this action needs, kept before the answer ends (contain, DESIGN §6).
  const copy = compensationCopy(call, upstreamStatus, response.headers);
  res.writeHead(upstreamStatus, out);
  // An answer of unknown length (a stream: SSE, chunked) shows its head at once, so the caller sees the
  // stream open before its first event. One of known length waits for its first chunk: node:http then
  // sends head and chunk in one write (a separate write for the head cost ~40–75 µs of CPU per request,
  // measured with BENCH_GW_PROFILE=1).
  if (out['content-length'] === undefined) res.flushHeaders();
  const watch = listChangedWatcher(call);
  // An event stream may stay silent as long as both ends keep it (server notifications, a slow tool), up to
  // its own idle limit, and is then ended cleanly; any other answer that stalls is cut as before.
  const stream = isEventStream(response.headers['content-type']);
  // An event stream waits for the upstream's events: it no longer keeps this process busy.
  if (stream) streaming(res);
  const idle = idleTimer(
    stream ? (gw.limits.streamIdleMs ?? DEFAULT_STREAM_IDLE_MS) : gw.limits.upstreamTimeoutMs,
    () => response.body.destroy(new StreamIdle(stream)),
  );
  try {
    for await (const chunk of response.body) {
      idle.touch();
      call.responseTap?.(chunk as Buffer);
      watch?.(chunk as Buffer);
      copy?.push(chunk);
      if (!res.write(chunk)) {
        // Waiting for a slow caller is not the upstream being silent.
        idle.stop();
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.on('drain', done).on('close', done);
        });
        idle.touch();
      }
    }
    idle.stop();
    await copy?.save();
    res.end();
  } catch (cause) {
    idle.stop();
    const code = errorClass(cause);
    if (callerGone()) return { outcome: 'client_aborted', status: upstreamStatus, error: code };
    if (cause instanceof StreamIdle && cause.stream) {
      // Silent past `streamIdleMs`: the stream ends as a stream ends (the caller may reconnect), not cut.
      res.end();
      return { outcome: (await delivered(res)) ? 'forwarded' : 'client_aborted', status: upstreamStatus };
    }
    // The answer has started: the caller learns of the break by its connection closing.
    res.destroy(cause as Error);
    return { outcome: 'upstream_interrupted', status: upstreamStatus, error: code };
  }
  return { outcome: (await delivered(res)) ? 'forwarded' : 'client_aborted', status: upstreamStatus };
}

/** The upstream sent nothing for the answer's idle limit (`stream`: an event stream, ended cleanly). */
class StreamIdle extends Error {
  readonly code = 'UND_ERR_BODY_TIMEOUT';
  readonly stream: boolean;
  constructor(stream: boolean) {
    super(stream ? 'the event stream was idle past its limit' : 'the answer stalled');
    this.stream = stream;
  }
}

function isEventStream(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value?.split(';')[0]?.trim().toLowerCase() === 'text/event-stream';
}

/** A timer re-armed by `touch` (in place: `refresh`), paused by `stop` until the next `touch`. */
function idleTimer(ms: number, fire: () => void): { touch(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined = setTimeout(fire, ms);
  return {
    touch: () => {
      if (timer === undefined) timer = setTimeout(fire, ms);
      else timer.refresh();
    },
    stop: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The outcome record of an allowed call: it rides with the next durable batch (nothing waits for it). */
function noteOutcome(call: GatewayCall, decisionId: string, forwarded: Forwarded): void {
  const outcome: DecisionRecord = {
    id: randomUUID(),
    kind: 'outcome',
    time: new Date().toISOString(),
    gateway: call.gw.id,
    decisionId,
    outcome: forwarded.outcome,
    ...(forwarded.status === undefined ? {} : { status: forwarded.status }),
    ...(forwarded.error === undefined ? {} : { error: forwarded.error }),
    latencyMs: Number(process.hrtime.bigint() - call.started) / 1e6,
  };
  const log = call.gw.decisions;
  if (log.note) log.note(outcome);
  else void log.append(outcome).catch(() => {});
}

/** Whether the whole answer was handed to the caller's connection (false: the caller went away first). */
async function delivered(res: ServerResponse): Promise<boolean> {
  try {
    await finished(res);
    return true;
  } catch {
    return false;
  }
}

/** An unexpected failure inside the forward step: not forwarded, as far as anyone can tell. */
function failedForward(cause: unknown): Forwarded {
  const refusal = new GatewayError('WARRANT_UPSTREAM_FAILED', 'the call could not be completed', { cause });
  return { outcome: 'upstream_failed', status: 502, error: errorClass(cause), refusal };
}

function errorClass(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : 'Error';
}
