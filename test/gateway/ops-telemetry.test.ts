/**
 * The gateway's operability (DESIGN §7, docs/operations.md): W3C trace context reaches the upstream (same
 * trace id, the gateway's span as the new parent) and the decision record; each decision is a span when
 * tracing is on; one JSON access line per request and errors with their code, never a token literal;
 * `/metrics` carries the process and runtime metrics; `/readyz` says whether the ledger takes writes.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, test } from 'node:test';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { createTracing, type Tracing } from '../../src/telemetry/index.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { hop, rootWarrant, sleep, TOOLS, Upstreams, WIDE } from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
/** A compact JWS anywhere in a text. */
const JWS_LIKE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\./;

const up = new Upstreams();
let seen: IncomingHttpHeaders | undefined;
const lines: string[] = [];
let tracing: Tracing;
let h: GatewayHarness;
let executor: AgentClient;
let root: string;
let leaf: string;

before(async () => {
  tracing = await createTracing({ service: 'gateway', exporter: 'memory' });
  h = await startGatewayHarness({
    upstreams: {
      crm: up.handler('crm', (req, res) => {
        seen = req.headers;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }),
    },
    routes: (u) => [
      { match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' },
      { match: { pathPrefix: '/down' }, upstream: 'http://127.0.0.1:9', audience: CRM, protocol: 'http' },
    ],
    catalog: [
      { name: 'tools:crm.read', match: { protocol: 'http', method: 'GET', path: '/crm/contacts*' }, ...low },
      { name: 'tools:crm.down', match: { protocol: 'http', method: 'GET', path: '/down*' }, ...low },
    ],
    logs: { write: (line: string) => void lines.push(line) },
    tracing,
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'tools:*', resource: `${TOOLS}/*` },
  ]);
  leaf = await hop(executor, root, CRM);
});

after(async () => {
  await h?.close();
  await tracing?.shutdown();
});

/** The log lines written since `from`, parsed (each must be one JSON object). */
function logged(from: number): Record<string, unknown>[] {
  return lines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('a traceparent reaches the upstream with the same trace id and the gateway’s span as parent, and the record', async () => {
  const from = h.decisions.records.length;
  const r = await h.call(executor, leaf, '/crm/contacts/1', {
    headers: { traceparent: TRACEPARENT, tracestate: 'vendor=opaque' },
  });
  assert.equal(r.status, 200, await r.text());
  const forwarded = String(seen?.['traceparent']);
  const [version, traceId, parentId, flags] = forwarded.split('-');
  assert.deepEqual([version, traceId, flags], ['00', TRACE_ID, '01']);
  assert.match(parentId!, /^[0-9a-f]{16}$/);
  assert.notEqual(parentId, CALLER_SPAN, 'a new parent id: the gateway’s own span');
  assert.equal(seen?.['tracestate'], 'vendor=opaque');
  const record = h.decisions.records.slice(from).find((x) => x.kind === 'decision');
  assert.equal(record?.traceId, TRACE_ID);
  // Tracing is on: the decision is a span of that trace, child of the caller's span, parent of the upstream's.
  const span = tracing.finishedSpans().find((s) => s.spanContext().traceId === TRACE_ID);
  assert.ok(span, 'a span for the decision');
  assert.equal(span.name, 'warrant.decision');
  assert.equal(span.parentSpanContext?.spanId, CALLER_SPAN);
  assert.equal(span.spanContext().spanId, parentId);
  assert.equal(span.attributes['warrant.decision'], 'allow');
  assert.equal(span.attributes['http.response.status_code'], 200);
  assert.equal(span.attributes['warrant.token_hash'], record?.chain?.at(-1)?.hash);
});

test('no (or an invalid) traceparent: a new trace, the caller’s tracestate dropped; still in the record', async () => {
  const from = h.decisions.records.length;
  const r = await h.call(executor, leaf, '/crm/contacts/2', {
    headers: { traceparent: '00-zz-not-valid', tracestate: 'vendor=opaque' },
  });
  assert.equal(r.status, 200);
  const traceId = String(seen?.['traceparent']).split('-')[1];
  assert.match(traceId!, /^[0-9a-f]{32}$/);
  assert.notEqual(traceId, TRACE_ID);
  assert.equal(seen?.['tracestate'], undefined);
  assert.equal(h.decisions.records.slice(from).find((x) => x.kind === 'decision')?.traceId, traceId);
});

test('logs: one JSON access line per request with its facts, errors with their code, never a token', async () => {
  const from = lines.length;
  const ok = await h.call(executor, leaf, '/crm/contacts/3', { chain: [root, leaf] });
  assert.equal(ok.status, 200);
  const denied = await h.call(executor, leaf, '/crm/exports/1');
  assert.equal(denied.status, 403);
  // A refusal whose request carries tokens in every credential header.
  const forged = await fetch(`${h.gw.url}/crm/contacts/4`, {
    headers: { authorization: `DPoP ${leaf}`, dpop: root, 'warrant-chain': `${root}, ${leaf}` },
  });
  assert.equal(forged.status, 401);
  const down = await h.call(executor, leaf, '/down/x');
  assert.equal(down.status, 502);
  await sleep(20);

  const written = lines.slice(from).join('');
  assert.doesNotMatch(written, JWS_LIKE, 'no token literal in any log line');
  for (const token of [root, leaf]) assert.ok(!written.includes(token.split('.')[2]!), 'no signature either');
  const entries = logged(from);
  for (const e of entries) {
    assert.equal(e['service'], 'gateway');
    assert.equal(typeof e['time'], 'string');
    assert.equal(typeof e['level'], 'string');
  }
  const access = entries.filter((e) => e['msg'] === 'access');
  assert.equal(access.length, 4, 'one access line per request');
  const [first, second, third, fourth] = access;
  assert.equal(first!['route'], '/crm');
  assert.equal(first!['path'], '/crm/contacts/3');
  assert.equal(first!['status'], 200);
  assert.equal(first!['decision'], 'allow');
  assert.match(String(first!['tokenHash']), /^[\w-]{43}$/);
  assert.equal(typeof first!['txn'], 'string');
  assert.match(String(first!['traceId']), /^[0-9a-f]{32}$/);
  assert.equal(typeof first!['latencyMs'], 'number');
  assert.deepEqual(
    [second!['status'], second!['decision'], second!['code']],
    [403, 'deny', 'WARRANT_ACTION_UNKNOWN'],
  );
  assert.equal(third!['decision'], 'unauthenticated');
  assert.equal(third!['status'], 401);
  assert.equal(fourth!['status'], 502);
  assert.equal(fourth!['code'], 'WARRANT_UPSTREAM_FAILED');
  // The gateway's own failure (5xx) is an error line with its code and cause; refusals are not.
  const errors = entries.filter((e) => e['level'] === 'error');
  assert.equal(errors.length, 1);
  assert.equal((errors[0]!['err'] as { code: string }).code, 'ECONNREFUSED');
  assert.equal(errors[0]!['code'], 'WARRANT_UPSTREAM_FAILED');
});

test('/metrics: process and Node runtime metrics beside the gateway’s, refusals by code', async () => {
  const text = await (await fetch(`${h.gw.url}/metrics`)).text();
  for (const name of [
    'warrant_process_cpu_user_seconds_total',
    'warrant_process_resident_memory_bytes',
    'warrant_nodejs_heap_size_used_bytes',
    'warrant_nodejs_eventloop_lag_seconds',
    'warrant_build_info{service="gateway"',
    'warrant_gateway_request_duration_seconds_bucket{',
    'warrant_gateway_refusals_total{outcome="deny",code="WARRANT_ACTION_UNKNOWN"}',
  ])
    assert.ok(text.includes(name), name);
});

test('/readyz reports the ledger: a failed durable append makes the gateway unready until one succeeds', async () => {
  const ready = async () => (await fetch(`${h.gw.url}/readyz`)).json() as Promise<Record<string, unknown>>;
  assert.equal((await ready())['ledger'], true);
  const append = h.decisions.append;
  h.decisions.append = async () => {
    throw new Error('disk full');
  };
  try {
    const r = await h.call(executor, leaf, '/crm/contacts/5');
    assert.equal(r.status, 503);
    const state = await ready();
    assert.equal(state['ledger'], false);
    assert.equal(state['ready'], false);
    assert.equal((await fetch(`${h.gw.url}/readyz`)).status, 503);
  } finally {
    h.decisions.append = append;
  }
  assert.equal((await h.call(executor, leaf, '/crm/contacts/6')).status, 200);
  assert.equal((await ready())['ledger'], true);
});
