/**
 * What the gateway forwards and what it records afterwards (DESIGN §7, §8): `Expect: 100-continue` is
 * answered by the gateway itself (100 Continue only once the body is wanted, never for a refused caller)
 * and never forwarded; hop-by-hop headers, and whatever `Connection` names, stop at the gateway; and the
 * outcome record of every allowed call says what happened — forwarded and answered, the upstream down,
 * the answer broken off, the caller gone — so nothing is recorded as forwarded that was not.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, listen, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { expectRefusal, hop, rootWarrant, sleep, TOOLS, Upstreams, WIDE } from './rejections-support.ts';

const AUDIENCE = `${TOOLS}/svc`;
const GRANTS = [{ action: 'svc:*', resource: `${TOOLS}/*` }];

const up = new Upstreams();
/** The request heads the echo upstream received, and the bodies. */
const seen: { headers: IncomingMessage['headers']; body: string }[] = [];
/** Upstream answers the slow upstream is holding open, and how many of them were closed from the far side. */
const held: ServerResponse[] = [];
let released = 0;
let h: GatewayHarness;
let executor: AgentClient;
let warrant: string;
let closedPort: number;

before(async () => {
  // A port nothing listens on: the upstream that is down.
  const { server } = await listen(() => {});
  closedPort = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  h = await startGatewayHarness({
    upstreams: {
      echo: up.handler('echo', (req, res, body) => {
        seen.push({ headers: req.headers, body: body.toString() });
        res.writeHead(201, { 'content-type': 'application/json' }).end(`{"received":${body.length}}`);
      }),
      // Starts its answer, then holds it open until the test ends it.
      slow: up.handler('slow', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk\n');
        res.once('close', () => {
          released++;
        });
        held.push(res);
      }),
      // Starts its answer, then drops the connection.
      broken: up.handler('broken', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('part of it');
        setTimeout(() => res.socket?.destroy(), 20);
      }),
    },
    routes: (u) => [
      { match: { pathPrefix: '/svc' }, upstream: u['echo']!, audience: AUDIENCE, protocol: 'http' },
      { match: { pathPrefix: '/rpc' }, upstream: u['echo']!, audience: AUDIENCE, protocol: 'mcp' },
      { match: { pathPrefix: '/slow' }, upstream: u['slow']!, audience: AUDIENCE, protocol: 'http' },
      { match: { pathPrefix: '/broken' }, upstream: u['broken']!, audience: AUDIENCE, protocol: 'http' },
      {
        match: { pathPrefix: '/down' },
        upstream: `http://127.0.0.1:${closedPort}`,
        audience: AUDIENCE,
        protocol: 'http',
      },
    ],
    catalog: ['/svc', '/slow', '/broken', '/down'].flatMap((prefix) =>
      ['GET', 'POST'].map((method) => ({
        name: `svc:${prefix.slice(1)}.${method.toLowerCase()}`,
        match: { protocol: 'http' as const, method, path: `${prefix}*` },
        impact: 'low' as const,
        dataClass: 'internal',
        reversibility: 'reversible' as const,
        blastRadius: 1,
      })),
    ),
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  warrant = await hop(executor, await rootWarrant(h, planner, agentIdOf('executor'), GRANTS), AUDIENCE);
});

after(async () => {
  for (const res of held) res.destroy();
  await h.close();
});

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** The gateway sent `100 Continue` before its final answer. */
  readonly continued: boolean;
}

/**
 * A POST with `Expect: 100-continue` from node's own HTTP client: the body is held back until the server
 * answers 100 Continue, as RFC 9110 §10.1.1 has it.
 */
function postExpecting(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${h.gw.url}${path}`, {
      method: 'POST',
      agent: false,
      headers: {
        ...headers,
        expect: '100-continue',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      },
    });
    let continued = false;
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          continued,
        });
        if (!continued) req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

const credentials = (method: string, path: string): Record<string, string> => ({
  authorization: `DPoP ${warrant}`,
  dpop: executor.dpopProof(method, `${h.gw.url}${path}`, warrant),
});

/** The decision record written for the call the upstream answered with `decisionHeader`, or the last one. */
const lastDecision = (from: number): DecisionRecord => {
  const decisions = h.decisions.records.slice(from).filter((r) => r.kind === 'decision');
  assert.equal(decisions.length, 1, 'one decision recorded');
  return decisions[0]!;
};

/** The outcome record of a decision (it is written once the call is over, so it is waited for). */
async function outcomeOf(decisionId: string): Promise<DecisionRecord> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const outcomes = h.decisions.records.filter((r) => r.kind === 'outcome' && r.decisionId === decisionId);
    if (outcomes.length > 0) {
      assert.equal(outcomes.length, 1, 'one outcome per decision');
      return outcomes[0]!;
    }
    if (Date.now() > deadline) assert.fail('no outcome record was written');
    await sleep(10);
  }
}

test('Expect: 100-continue on a streamed body: 100 Continue after the allow, forwarded and answered, outcome forwarded', async () => {
  const from = h.decisions.records.length;
  const hits = up.hits['echo']!;
  const body = JSON.stringify({ refund: 42, note: 'x'.repeat(5000) });
  const a = await postExpecting('/svc/refunds', body, credentials('POST', '/svc/refunds'));
  assert.equal(a.status, 201, a.body);
  assert.ok(a.continued, 'the gateway asked for the body with 100 Continue');
  assert.equal(a.body, `{"received":${Buffer.byteLength(body)}}`);
  assert.equal(up.hits['echo'], hits + 1);
  const last = seen.at(-1)!;
  assert.equal(last.body, body, 'the upstream received the whole body');
  assert.equal(last.headers['expect'], undefined, 'Expect is answered by the gateway, never forwarded');
  const decision = lastDecision(from);
  assert.equal(decision.decision, 'allow');
  assert.equal(last.headers['warrant-decision'], decision.id);
  const outcome = await outcomeOf(decision.id);
  assert.equal(outcome.outcome, 'forwarded');
  assert.equal(outcome.status, 201);
  assert.equal(outcome.error, undefined);
});

test('Expect: 100-continue on a body the gateway reads (MCP JSON-RPC): 100 Continue after authentication, forwarded whole', async () => {
  const from = h.decisions.records.length;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'expecting', version: '1' },
    },
  });
  const a = await postExpecting('/rpc', body, credentials('POST', '/rpc'));
  assert.equal(a.status, 201, a.body);
  assert.ok(a.continued);
  assert.equal(seen.at(-1)!.body, body);
  assert.equal(seen.at(-1)!.headers['expect'], undefined);
  const outcome = await outcomeOf(lastDecision(from).id);
  assert.deepEqual([outcome.outcome, outcome.status], ['forwarded', 201]);
});

test('Expect: 100-continue from an unauthenticated caller: a final 401 without 100 Continue, the body never asked for', async () => {
  const from = h.decisions.records.length;
  const hits = up.total;
  const a = await postExpecting('/svc/refunds', '{"refund":42}', {});
  assert.equal(a.continued, false, 'no 100 Continue for a refused caller');
  assert.equal(a.headers['connection'], 'close', 'the connection is not reused: the body may still follow');
  await expectRefusal(
    { status: a.status, headers: a.headers, body: a.body },
    { status: 401, error: 'invalid_token', code: 'WARRANT_CREDENTIALS_MISSING', bareChallenge: true },
  );
  await sleep(20);
  assert.equal(up.total, hits, 'nothing forwarded');
  assert.equal(h.decisions.records.length, from, 'nothing recorded');
});

test('hop-by-hop headers, the fields Connection names and forged forwarding facts are not forwarded', async () => {
  const path = '/svc/hops';
  const a = await new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${h.gw.url}${path}`, {
      agent: false,
      headers: {
        ...credentials('GET', path),
        connection: 'keep-alive, x-hop-secret',
        'keep-alive': 'timeout=5',
        'x-hop-secret': 'for the next hop only',
        te: 'trailers',
        'x-forwarded-host': 'forged.example.com',
        'x-forwarded-proto': 'https',
        forwarded: 'host=forged.example.com;proto=https',
        'x-end-to-end': 'kept',
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          continued: false,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(a.status, 201, a.body);
  const got = seen.at(-1)!.headers;
  for (const name of ['x-hop-secret', 'keep-alive', 'te', 'forwarded'])
    assert.equal(got[name], undefined, `${name} stops at the gateway`);
  assert.equal(got['x-end-to-end'], 'kept');
  const gwHost = new URL(h.gw.url).host;
  assert.equal(got['x-forwarded-host'], gwHost, 'the Host the gateway checked, not a forged one');
  assert.equal(got['x-forwarded-proto'], 'http');
  assert.equal(got['host'], gwHost, 'the caller’s Host is preserved by default');
});

test('upstream down after the allow: 502 WARRANT_UPSTREAM_FAILED, and the outcome says upstream_failed, not forwarded', async () => {
  const from = h.decisions.records.length;
  const r = await fetch(`${h.gw.url}/down/x`, { headers: credentials('GET', '/down/x') });
  await expectRefusal(r, {
    status: 502,
    error: 'bad_gateway',
    code: 'WARRANT_UPSTREAM_FAILED',
    secrets: [warrant],
  });
  const decision = lastDecision(from);
  assert.equal(decision.decision, 'allow');
  const outcome = await outcomeOf(decision.id);
  assert.equal(outcome.outcome, 'upstream_failed');
  assert.equal(outcome.status, 502, 'the status the caller got');
  assert.equal(outcome.error, 'ECONNREFUSED');
  assert.doesNotMatch(JSON.stringify(outcome), /eyJ/, 'no token in the record');
});

test('an upstream answer that breaks off: the caller’s connection closes, the outcome says upstream_interrupted', async () => {
  const from = h.decisions.records.length;
  await assert.rejects(async () => {
    const r = await fetch(`${h.gw.url}/broken/x`, { headers: credentials('GET', '/broken/x') });
    assert.equal(r.status, 200, 'the answer had started');
    await r.text();
  });
  const outcome = await outcomeOf(lastDecision(from).id);
  assert.equal(outcome.outcome, 'upstream_interrupted');
  assert.equal(outcome.status, 200);
  assert.equal(typeof outcome.error, 'string');
});

test('a caller that goes away mid-answer: the upstream request is released, the outcome says client_aborted', async () => {
  const from = h.decisions.records.length;
  const path = '/slow/stream';
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${h.gw.url}${path}`, { agent: false, headers: credentials('GET', path) });
    req.on('response', (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    req.on('close', resolve);
    setTimeout(() => reject(new Error('no answer')), 3000).unref();
    req.end();
  });
  const outcome = await outcomeOf(lastDecision(from).id);
  assert.equal(outcome.outcome, 'client_aborted');
  assert.equal(outcome.status, 200, 'the upstream had answered 200');
  const deadline = Date.now() + 3000;
  while (released === 0 && Date.now() < deadline) await sleep(10);
  assert.equal(released, 1, 'the upstream request was released');
});
