/**
 * Gateway refusals, limits and availability (DESIGN §4, §7): oversized bodies and headers, dead and slow
 * upstreams, and a revocation view past its staleness bound are all bounded and answered — never hung,
 * never forwarded on a guess.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, listen, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  claimsOf,
  expectNoRecord,
  expectRefusal,
  hop,
  rootWarrant,
  sleep,
  TOOLS,
  toolCall,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const MAX_BODY = 4096;
const MAX_HEADER = 8192;
const UPSTREAM_TIMEOUT_MS = 300;
const MCP = `${TOOLS}/mcp`;
const FILES = `${TOOLS}/files`;
const SLOW = `${TOOLS}/slow`;
const DOWN = `${TOOLS}/down`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const GRANTS = [{ action: 'tools:*', resource: `${TOOLS}/*` }];

const up = new Upstreams();
let h: GatewayHarness;
let executor: AgentClient;
const leaf: Record<string, string> = {};

before(async () => {
  // An upstream address nothing listens on.
  const dead = await listen(() => {});
  await new Promise((r) => dead.server.close(r));
  h = await startGatewayHarness({
    upstreams: {
      mcp: up.handler('mcp'),
      files: up.handler('files'),
      slow: up.handler('slow', (_req, res) => {
        const timer = setTimeout(() => res.end('{"late":true}'), UPSTREAM_TIMEOUT_MS * 10);
        res.on('close', () => clearTimeout(timer));
      }),
    },
    routes: (u) => [
      { match: { pathPrefix: '/mcp' }, upstream: u['mcp']!, audience: MCP, protocol: 'mcp' },
      { match: { pathPrefix: '/files' }, upstream: u['files']!, audience: FILES, protocol: 'http' },
      { match: { pathPrefix: '/slow' }, upstream: u['slow']!, audience: SLOW, protocol: 'http' },
      { match: { pathPrefix: '/down' }, upstream: dead.url, audience: DOWN, protocol: 'http' },
    ],
    catalog: [
      { name: 'tools:search', match: { protocol: 'mcp', tool: 'search' }, ...low },
      { name: 'tools:upload', match: { protocol: 'http', method: 'POST', path: '/files/*' }, ...low },
      { name: 'tools:slow', match: { protocol: 'http', method: 'GET', path: '/slow*' }, ...low },
      { name: 'tools:down', match: { protocol: 'http', method: 'GET', path: '/down*' }, ...low },
    ],
    overrides: {
      gateway: {
        limits: {
          maxBodyBytes: MAX_BODY,
          maxHeaderBytes: MAX_HEADER,
          upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
        },
      },
    },
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), GRANTS);
  for (const audience of [MCP, FILES, SLOW, DOWN]) leaf[audience] = await hop(executor, root, audience);
});

after(() => h.close());

/** A request body arriving in `chunks` pieces, with no Content-Length (chunked transfer coding). */
function streamed(size: number, chunks = 8): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(Math.ceil(size / chunks), size - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(0x61));
      await sleep(5);
    },
  });
}

/** A fetch with DPoP credentials for `audience`'s warrant and any body. */
function post(
  path: string,
  audience: string,
  body: string | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
) {
  const url = `${h.gw.url}${path}`;
  const warrant = leaf[audience]!;
  return fetch(url, {
    method: 'POST',
    headers: {
      authorization: `DPoP ${warrant}`,
      dpop: executor.dpopProof('POST', url, warrant),
      'content-type': 'application/json',
      ...headers,
    },
    body,
    duplex: 'half',
  } as RequestInit);
}

test('the happy path answers 200 (the fixture is sound)', async () => {
  const small = JSON.stringify(toolCall(1, 'search', { q: 'x'.repeat(100) }));
  assert.equal((await post('/mcp', MCP, small)).status, 200);
  const upload = await post('/files/a.txt', FILES, 'y'.repeat(MAX_BODY));
  assert.equal(upload.status, 200, await upload.text());
  assert.equal(up.completed['files'], 1);
});

test('an oversized body on an MCP route: 413 payload_too_large WARRANT_BODY_TOO_LARGE', async () => {
  const big = JSON.stringify(toolCall(1, 'search', { q: 'x'.repeat(MAX_BODY) }));
  const hits = up.total;
  const from = h.decisions.records.length;
  // Declared by Content-Length: refused before reading it.
  await expectRefusal(await post('/mcp', MCP, big), {
    status: 413,
    error: 'payload_too_large',
    code: 'WARRANT_BODY_TOO_LARGE',
    secrets: [leaf[MCP]!],
  });
  // Streamed with no length: refused when the count passes the limit.
  await expectRefusal(await post('/mcp', MCP, streamed(MAX_BODY * 4)), {
    status: 413,
    error: 'payload_too_large',
    code: 'WARRANT_BODY_TOO_LARGE',
  });
  await sleep(20);
  assert.equal(up.total, hits, 'the upstream received nothing');
  expectNoRecord(h, from);
});

test('an oversized body on an http route (streamed through): 413 WARRANT_BODY_TOO_LARGE, upstream never gets it', async () => {
  // Declared by Content-Length: refused before any decision or forward.
  let hits = up.total;
  let from = h.decisions.records.length;
  const declared = await post('/files/big.bin', FILES, 'z'.repeat(MAX_BODY * 4));
  await expectRefusal(declared, {
    status: 413,
    error: 'payload_too_large',
    code: 'WARRANT_BODY_TOO_LARGE',
    secrets: [leaf[FILES]!],
  });
  await sleep(20);
  assert.equal(up.total, hits, 'the upstream received nothing');
  expectNoRecord(h, from);

  // Streamed with no length: an http route streams bodies through (DESIGN §7), so the upstream may see the
  // request start, but the body is cut at the limit and the upstream never receives it whole.
  const completed = up.completed['files'];
  hits = up.total;
  from = h.decisions.records.length;
  const chunked = await post('/files/big.bin', FILES, streamed(MAX_BODY * 4));
  await expectRefusal(chunked, { status: 413, error: 'payload_too_large', code: 'WARRANT_BODY_TOO_LARGE' });
  await sleep(50);
  assert.equal(up.completed['files'], completed, 'the upstream never received a whole oversized body');
  assert.ok(up.total - hits <= 1);
  // The allow was recorded before the body streamed; its outcome says the call was cut, not forwarded.
  const outcomes = h.decisions.records.slice(from).filter((r) => r.kind === 'outcome');
  assert.deepEqual(
    outcomes.map((o) => [o.outcome, o.status]),
    [['request_too_large', 413]],
    'the outcome says the body was too large, not that the call was forwarded',
  );
});

test('oversized headers: 431 from the listener, and the connection is answered and closed', async () => {
  const hits = up.total;
  const socket = connect(Number(new URL(h.gw.url).port), '127.0.0.1');
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('close', () => resolve());
    socket.on('error', () => {});
  });
  socket.write(
    `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: DPoP ${leaf[MCP]}\r\nX-Pad: ${'p'.repeat(MAX_HEADER * 2)}\r\n\r\n`,
  );
  const timeout = sleep(3000).then(() => 'hung' as const);
  assert.notEqual(await Promise.race([closed, timeout]), 'hung', 'the connection was closed within 3 s');
  socket.destroy();
  const text = Buffer.concat(received).toString('latin1');
  assert.match(text, /^HTTP\/1\.1 431 /);
  assert.ok(!text.includes(leaf[MCP]!.split('.')[2]!), 'no token text');
  assert.equal(up.total, hits, 'the upstream received nothing');
});

test('upstream down: 502 bad_gateway WARRANT_UPSTREAM_FAILED', async () => {
  const started = Date.now();
  const r = await h.call(executor, leaf[DOWN]!, '/down/status');
  await expectRefusal(r, {
    status: 502,
    error: 'bad_gateway',
    code: 'WARRANT_UPSTREAM_FAILED',
    secrets: [leaf[DOWN]!],
  });
  assert.ok(Date.now() - started < 2000, 'answered promptly');
});

test('slow upstream past limits.upstreamTimeoutMs: 504 gateway_timeout WARRANT_UPSTREAM_TIMEOUT', async () => {
  const started = Date.now();
  const r = await h.call(executor, leaf[SLOW]!, '/slow/report');
  await expectRefusal(r, {
    status: 504,
    error: 'gateway_timeout',
    code: 'WARRANT_UPSTREAM_TIMEOUT',
    secrets: [leaf[SLOW]!],
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= UPSTREAM_TIMEOUT_MS - 20, `waited for the upstream (${elapsed} ms)`);
  // Well before the upstream would have answered (undici's timers are coarse, hence the slack).
  assert.ok(elapsed < UPSTREAM_TIMEOUT_MS * 8, `answered near the bound (${elapsed} ms)`);
});

test('revocation view stale (STS unreachable past statusStalenessSeconds): 503 WARRANT_STATUS_STALE', async () => {
  const stale = new Upstreams();
  const g = await startGatewayHarness({
    upstreams: { files: stale.handler('files') },
    routes: (u) => [
      { match: { pathPrefix: '/files' }, upstream: u['files']!, audience: FILES, protocol: 'http' },
    ],
    catalog: [{ name: 'tools:read', match: { protocol: 'http', method: 'GET', path: '/files/*' }, ...low }],
    overrides: { gateway: { statusStalenessSeconds: 1 } },
  });
  try {
    const planner = await g.sts.agent('planner');
    const agent = await g.sts.agent('executor', WIDE);
    const root = await rootWarrant(g, planner, agentIdOf('executor'), GRANTS);
    const warrant = await hop(agent, root, FILES);
    assert.ok(claimsOf(warrant)['status'], 'the warrant has a status list entry');
    const ok = await g.call(agent, warrant, '/files/a');
    assert.equal(ok.status, 200, await ok.text());

    // The STS goes away: no feed, no status list pulls.
    await g.sts.plane.close();
    const hits = stale.total;
    const from = g.decisions.records.length;
    const deadline = Date.now() + 4000;
    let r = await g.call(agent, warrant, '/files/a');
    while (r.status === 200 && Date.now() < deadline) {
      await r.arrayBuffer();
      await sleep(100);
      r = await g.call(agent, warrant, '/files/a');
    }
    const forwardedMeanwhile = stale.total - hits;
    await expectRefusal(r, {
      status: 503,
      error: 'unavailable',
      code: 'WARRANT_STATUS_STALE',
      secrets: [warrant],
    });
    // Once stale, it stays closed.
    const again = await g.call(agent, warrant, '/files/a');
    await expectRefusal(again, { status: 503, error: 'unavailable', code: 'WARRANT_STATUS_STALE' });
    await sleep(20);
    assert.equal(stale.total - hits, forwardedMeanwhile, 'nothing forwarded once stale');
    assert.equal(
      g.decisions.records.slice(from).filter((x) => x.kind === 'decision').length,
      forwardedMeanwhile,
      'no decision for refused calls',
    );
  } finally {
    await g.close();
  }
});
