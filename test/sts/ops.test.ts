/**
 * The STS as operators see it (docs/operations.md): one JSON access line per request with the endpoint,
 * status, grant type, OAuth error and Warrant code, latency and the issued token's hash — never a token,
 * an ID token, a client assertion or a DPoP proof, at any level; `/metrics` with the process figures and
 * the exchange and revocation counters; each exchange a span, child of the caller's `traceparent`.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { type AgentClient, StsRequestError, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { createLogger, createMetrics, createTracing, type Tracing } from '../../src/telemetry/index.ts';
import { type Harness, startHarness } from '../support/sts-harness.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

let h: Harness;
let tracing: Tracing;
const lines: string[] = [];
let planner: AgentClient;
let worker: AgentClient;
let tool: AgentClient;
/** Every JWT the test sent or received. */
const seen: string[] = [];
let root: string;
let hop: string;
let identity: string;

before(async () => {
  tracing = await createTracing({ service: 'sts', exporter: 'memory' });
  h = await startHarness({
    // debug: the refusal descriptions are checked too.
    logger: createLogger({
      service: 'sts',
      level: 'debug',
      destination: { write: (line: string) => void lines.push(line) },
    }),
    metrics: createMetrics('sts'),
    tracing,
  });
  planner = await h.agent('planner');
  worker = await h.agent('worker');
  tool = await h.agent('tool');

  identity = (await planner.identity()).access_token;
  const idToken = h.idToken('alice', planner);
  // The root exchange carries the caller's trace context.
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) =>
    realFetch(input, {
      ...init,
      headers: {
        ...(init?.headers as Record<string, string>),
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
      },
    });
  try {
    root = (
      await planner.exchange({
        subjectToken: idToken,
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: worker.agentId,
        grants: [{ action: 'crm:read', resource: 'crm/*' }],
        task: 'ops',
      })
    ).access_token;
  } finally {
    globalThis.fetch = realFetch;
  }
  hop = (
    await worker.exchange({
      subjectToken: root,
      subjectTokenType: TOKEN_TYPES.warrant,
      audience: tool.agentId,
    })
  ).access_token;
  // Refused: the same ID token again (its jti was consumed), and a warrant presented by an agent it is not for.
  await assert.rejects(
    planner.exchange({
      subjectToken: idToken,
      subjectTokenType: TOKEN_TYPES.idToken,
      audience: worker.agentId,
    }),
    StsRequestError,
  );
  await assert.rejects(
    planner.exchange({ subjectToken: root, subjectTokenType: TOKEN_TYPES.warrant, audience: tool.agentId }),
    StsRequestError,
  );
  const revoke = await worker.post('/revoke', { token: hop });
  assert.equal(revoke.status, 200);
  seen.push(identity, idToken, root, hop);
});

after(async () => {
  await h?.close();
  await tracing?.shutdown();
});

const json = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const access = () => json().filter((l) => l['msg'] === 'access');

describe('STS logs', () => {
  test('every line is one JSON object of the sts service; no JWT of any kind appears, at debug level', () => {
    assert.ok(lines.length > 0);
    for (const line of json()) {
      assert.equal(line['service'], 'sts');
      assert.equal(typeof line['level'], 'string');
      assert.match(String(line['time']), /^\d{4}-\d\d-\d\dT/);
    }
    const text = lines.join('');
    for (const token of seen) assert.equal(text.includes(token), false, 'a token literal was logged');
    // Client assertions and DPoP proofs were made inside the SDK: no JWT-shaped text at all.
    assert.doesNotMatch(text, /eyJ[\w-]*\.[\w-]*\./);
  });

  test('an issued exchange: endpoint, status, grant type, outcome, latency and the issued token hash', () => {
    const issued = access().filter((l) => l['route'] === '/token' && l['status'] === 200);
    assert.deepEqual(
      issued.map((l) => [l['grantType'], l['tokenHash']]),
      [
        ['client_credentials', tokenHash(identity)],
        ['urn:ietf:params:oauth:grant-type:token-exchange', tokenHash(root)],
        ['urn:ietf:params:oauth:grant-type:token-exchange', tokenHash(hop)],
      ],
    );
    for (const line of issued) {
      assert.equal(line['method'], 'POST');
      assert.equal(line['path'], '/token');
      assert.equal(line['decision'], 'issued');
      assert.equal(typeof line['latencyMs'], 'number');
      assert.match(String(line['traceId']), /^[0-9a-f]{32}$/);
    }
    assert.equal(issued[1]!['traceId'], TRACE_ID, 'the caller trace id is logged');
  });

  test('a refusal: status, OAuth error and Warrant code on the access line, its description at debug', () => {
    const refused = access().filter(
      (l) => l['route'] === '/token' && l['status'] === 400 && l['oauthError'] !== 'use_dpop_nonce',
    );
    assert.equal(refused.length, 2);
    for (const line of refused) {
      assert.equal(line['decision'], 'refused');
      assert.match(String(line['oauthError']), /^invalid_(grant|scope|request|target)$/);
      assert.match(String(line['code']), /^WARRANT_/);
      assert.equal(line['tokenHash'], undefined, 'nothing was issued');
    }
    const described = json().filter((l) => l['level'] === 'debug' && l['err'] !== undefined);
    assert.ok(described.length >= 2);
    for (const line of described) assert.match(String((line['err'] as { code: string }).code), /^WARRANT_/);
  });

  test('/revoke logs the hash of the token it was asked to revoke', () => {
    const line = access().find((l) => l['route'] === '/revoke');
    assert.equal(line?.['status'], 200);
    assert.equal(line?.['tokenHash'], tokenHash(hop));
  });

  test('probes and scrapes write no access line', async () => {
    const before = lines.length;
    for (const path of ['/healthz', '/readyz', '/metrics']) await (await fetch(`${h.url}${path}`)).text();
    assert.equal(lines.length, before, 'nothing was logged');
  });
});

describe('STS request targets', () => {
  test('a request target that is no URL (http://[) is refused 400 and logged; the STS keeps serving', async () => {
    const { port } = new URL(h.url);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write('GET http://[ HTTP/1.1\r\nHost: sts\r\nConnection: close\r\n\r\n'),
      );
      socket.setEncoding('utf8').on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /"code":"WARRANT_REQUEST_MALFORMED"/);
    const line = access().at(-1);
    assert.equal(line?.['status'], 400);
    assert.equal(line?.['route'], 'none');
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });
});

describe('STS /metrics', () => {
  test('process and runtime metrics, exchanges by grant type and outcome, refusals by code, revocations', async () => {
    const response = await fetch(`${h.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const body = await response.text();
    for (const name of [
      'warrant_process_cpu_user_seconds_total',
      'warrant_process_resident_memory_bytes',
      'warrant_nodejs_heap_size_used_bytes',
      'warrant_nodejs_eventloop_lag_seconds',
    ])
      assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    assert.match(body, /^warrant_build_info\{service="sts",version="[^"]+"\} 1$/m);
    assert.match(
      body,
      /^warrant_sts_exchanges_total\{grant_type="client_credentials",outcome="issued"\} 1$/m,
    );
    assert.match(body, /^warrant_sts_exchanges_total\{grant_type="token-exchange",outcome="issued"\} 2$/m);
    assert.match(body, /^warrant_sts_exchanges_total\{grant_type="token-exchange",outcome="refused"\} \d+$/m);
    assert.match(
      body,
      /^warrant_sts_refusals_total\{grant_type="token-exchange",code="WARRANT_[A-Z_]+"\} \d+$/m,
    );
    assert.match(
      body,
      /^warrant_sts_exchange_duration_seconds_count\{grant_type="token-exchange",outcome="issued"\} 2$/m,
    );
    assert.match(body, /^warrant_revocations_total\{kind="token"\} 1$/m);
    assert.match(body, /^warrant_revocation_cascade_size_sum\{kind="token"\} 1$/m);
  });

  test('an admin revocation of a transaction counts its cascade', async () => {
    const fresh = (
      await planner.exchange({
        subjectToken: h.idToken('bob', planner),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: worker.agentId,
        grants: [{ action: 'crm:read', resource: 'crm/*' }],
      })
    ).access_token;
    await worker.exchange({
      subjectToken: fresh,
      subjectTokenType: TOKEN_TYPES.warrant,
      audience: tool.agentId,
    });
    const txn = (JSON.parse(Buffer.from(fresh.split('.')[1]!, 'base64url').toString()) as { txn: string })
      .txn;
    const revoked = await h.admin('POST', '/revoke', { txn });
    assert.equal(revoked.status, 200);
    const body = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(body, /^warrant_revocations_total\{kind="txn"\} 1$/m);
    assert.match(body, /^warrant_revocation_cascade_size_sum\{kind="txn"\} 2$/m);
  });
});

describe('STS traces', () => {
  test('the exchange is a span warrant.exchange in the caller trace, with hashes and no token', () => {
    const spans = tracing.finishedSpans().filter((s) => s.name === 'warrant.exchange');
    assert.ok(spans.length >= 5, `${spans.length} exchange spans`);
    const traced = spans.find((s) => s.spanContext().traceId === TRACE_ID);
    assert.ok(traced, 'a span in the caller trace');
    assert.equal(traced.parentSpanContext?.spanId, PARENT_ID);
    assert.equal(traced.attributes['warrant.token_hash'], tokenHash(root));
    assert.equal(traced.attributes['warrant.grant_type'], 'urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(traced.attributes['http.response.status_code'], 200);
    const refused = spans.find((s) => s.attributes['http.response.status_code'] === 400);
    assert.match(String(refused?.attributes['warrant.code']), /^WARRANT_/);
    assert.doesNotMatch(JSON.stringify(spans.map((s) => s.attributes)), /eyJ/);
  });
});
