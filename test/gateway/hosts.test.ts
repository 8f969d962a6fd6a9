/**
 * Hosts and origins (DESIGN §7; the MCP conformance scenario `dns-rebinding-protection`): a route answers
 * only the Host values it allows and refuses a browser Origin it does not know, before any credential is
 * read; the upstream receives the caller's Host, so its own DNS-rebinding protection keeps working behind
 * the gateway; and the RFC 9728 metadata names the configured public URL, whatever Host a request carries.
 * The MCP upstream is the official TypeScript SDK server with its DNS-rebinding protection enabled.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { CRM_CONTACTS_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  expectNoRecord,
  expectRefusal,
  hop,
  type Raw,
  raw,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const MCP = `${TOOLS}/mcp`;
const CRM = `${TOOLS}/crm`;
const PUBLIC_URL = 'http://gw.example.test';
const APP_ORIGIN = 'https://app.example.org';
const GRANTS = [
  { action: 'crm:*', resource: `${TOOLS}/*` },
  { action: 'mcp:*', resource: `${TOOLS}/*` },
];
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '1' } },
});

const up = new Upstreams();
/** The Host header of every request the MCP server received, and its answers' statuses. */
const mcpSeen: { host: string | undefined; status?: number }[] = [];
let gwPort = 0;
/** An https upstream with a self-signed certificate for `localhost`, and the SNI names it was asked for. */
const dir = mkdtempSync(join(tmpdir(), 'warrant-hosts-'));
let tlsUpstream: HttpsServer;
const sniNames: string[] = [];
let h: GatewayHarness;
let executor: AgentClient;
let mcpWarrant: string;
let crmWarrant: string;

/**
 * The MCP server as its SDK recommends for a local server: DNS-rebinding protection on, answering only the
 * Host and Origin its users reach it by — here the gateway's `localhost:<port>`.
 */
function mcpServer(req: IncomingMessage, res: ServerResponse): void {
  void (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen: { host: string | undefined; status?: number } = { host: req.headers.host };
    mcpSeen.push(seen);
    res.once('finish', () => {
      seen.status = res.statusCode;
    });
    const server = new McpServer({ name: 'rebinding-probe', version: '1.0.0' });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      enableDnsRebindingProtection: true,
      allowedHosts: [`localhost:${gwPort}`],
      allowedOrigins: [`http://localhost:${gwPort}`],
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8')));
  })();
}

before(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'tls.key',
      '-out',
      'tls.crt',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { cwd: dir, stdio: 'pipe' },
  );
  tlsUpstream = createHttpsServer(
    {
      cert: readFileSync(join(dir, 'tls.crt')),
      key: readFileSync(join(dir, 'tls.key')),
      SNICallback: (name, done) => {
        sniNames.push(name);
        done(null);
      },
    },
    (_req, res) => res.end('ok'),
  );
  await new Promise<void>((r) => tlsUpstream.listen(0, 'localhost', r));
  const tlsPort = (tlsUpstream.address() as AddressInfo).port;
  h = await startGatewayHarness({
    upstreams: { mcp: mcpServer, crm: up.handler('crm') },
    routes: (u) => [
      // The gateway answers localhost and 127.0.0.1 (any port); the server behind it only localhost.
      {
        match: { pathPrefix: '/mcp' },
        upstream: `${u['mcp']}/mcp`,
        audience: MCP,
        protocol: 'mcp',
        allowedHosts: ['localhost', '127.0.0.1'],
      },
      // No allowedHosts: the gateway defaults. A browser app of another origin is allowed to call it.
      {
        match: { pathPrefix: '/crm' },
        upstream: u['crm']!,
        audience: CRM,
        protocol: 'http',
        allowedOrigins: [APP_ORIGIN],
      },
      {
        match: { pathPrefix: '/tls' },
        upstream: `https://localhost:${tlsPort}`,
        audience: CRM,
        protocol: 'http',
      },
    ],
    catalog: [
      CRM_CONTACTS_READ,
      {
        name: 'crm:tls.read',
        match: { protocol: 'http', method: 'GET', path: '/tls*' },
        impact: 'low',
        dataClass: 'internal',
        reversibility: 'reversible',
        blastRadius: 1,
      },
    ],
    overrides: { gateway: { publicUrl: PUBLIC_URL } },
  });
  gwPort = Number(new URL(h.gw.url).port);
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), GRANTS);
  mcpWarrant = await hop(executor, root, MCP);
  crmWarrant = await hop(executor, root, CRM);
});

after(async () => {
  await h.close();
  tlsUpstream.closeAllConnections();
  await new Promise((r) => tlsUpstream.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A request to the gateway's socket carrying `host` as its Host (as a browser on a rebound name sends it),
 * with a valid warrant and a DPoP proof for that very URI, so only the Host decides.
 */
function asHost(
  host: string,
  path: string,
  options: { method?: string; origin?: string; warrant?: string; body?: string; credentials?: boolean } = {},
): Promise<Raw> {
  const method = options.method ?? 'GET';
  const warrant = options.warrant ?? crmWarrant;
  const headers: [string, string][] = [['host', host]];
  if (options.credentials !== false) {
    headers.push(['authorization', `DPoP ${warrant}`]);
    headers.push(['dpop', executor.dpopProof(method, `http://${host}${path}`, warrant)]);
  }
  if (options.origin !== undefined) headers.push(['origin', options.origin]);
  if (options.body !== undefined) {
    headers.push(['content-type', 'application/json']);
    headers.push(['accept', 'application/json, text/event-stream']);
  }
  return raw(`${h.gw.url}${path}`, { method, headers, ...(options.body ? { body: options.body } : {}) });
}

test('the MCP server refuses a rebound Host on its own (the fixture is sound: the conformance scenario passes directly)', async () => {
  const upstream = h.gw.gateway.routes.find((r) => r.match.pathPrefix === '/mcp')!.upstream;
  const evil = await raw(upstream, {
    method: 'POST',
    headers: [
      ['host', 'evil.example.com'],
      ['origin', 'http://evil.example.com'],
      ['content-type', 'application/json'],
      ['accept', 'application/json, text/event-stream'],
    ],
    body: INITIALIZE,
  });
  assert.equal(evil.status, 403, evil.body);
});

test('a DNS-rebound MCP request (Host evil.example.com, matching Origin, valid warrant): 421 WARRANT_HOST_NOT_ALLOWED, the server never reached', async () => {
  const seen = mcpSeen.length;
  const records = h.decisions.records.length;
  const r = await asHost('evil.example.com', '/mcp', {
    method: 'POST',
    origin: 'http://evil.example.com',
    warrant: mcpWarrant,
    body: INITIALIZE,
  });
  await expectRefusal(r, {
    status: 421,
    error: 'misdirected_request',
    code: 'WARRANT_HOST_NOT_ALLOWED',
    secrets: [mcpWarrant],
  });
  assert.equal(r.headers['mcp-session-id'], undefined, 'no session');
  await sleep(20);
  assert.equal(mcpSeen.length, seen, 'the MCP server was not reached');
  expectNoRecord(h, records);
});

test('the Host is checked before any credential: a rebound Host without credentials is 421, not a 401 challenge', async () => {
  const r = await asHost(`evil.example.com:${gwPort}`, '/crm/contacts', { credentials: false });
  await expectRefusal(r, { status: 421, error: 'misdirected_request', code: 'WARRANT_HOST_NOT_ALLOWED' });
});

test('an allowed Host reaches the MCP server with that Host, and the server’s own check passes', async () => {
  const seen = mcpSeen.length;
  const r = await asHost(`localhost:${gwPort}`, '/mcp', {
    method: 'POST',
    origin: `http://localhost:${gwPort}`,
    warrant: mcpWarrant,
    body: INITIALIZE,
  });
  assert.equal(r.status, 200, r.body);
  const answer = JSON.parse(r.body) as { result?: { serverInfo?: { name?: string } } };
  assert.equal(answer.result?.serverInfo?.name, 'rebinding-probe');
  assert.equal(mcpSeen.length, seen + 1);
  assert.equal(mcpSeen.at(-1)!.host, `localhost:${gwPort}`, 'the server saw the caller’s Host');
});

test('a Host the gateway allows but the server does not: the server’s own check still applies behind the gateway', async () => {
  const r = await asHost(`127.0.0.1:${gwPort}`, '/mcp', {
    method: 'POST',
    warrant: mcpWarrant,
    body: INITIALIZE,
  });
  assert.equal(r.status, 403, 'the MCP server refused the Host itself');
  assert.equal(mcpSeen.at(-1)!.host, `127.0.0.1:${gwPort}`);
});

test('a route without allowedHosts answers the loopback names and the public URL host, and refuses others', async () => {
  for (const host of [`127.0.0.1:${gwPort}`, `localhost:${gwPort}`, 'gw.example.test']) {
    const r = await asHost(host, '/crm/contacts/1');
    assert.equal(r.status, 200, `${host}: ${r.body}`);
  }
  for (const host of ['evil.example.com', `evil.example.com:${gwPort}`, 'gw.example.test.evil.example.com']) {
    const hits = up.hits['crm']!;
    const records = h.decisions.records.length;
    const r = await asHost(host, '/crm/contacts/1');
    await expectRefusal(r, {
      status: 421,
      error: 'misdirected_request',
      code: 'WARRANT_HOST_NOT_ALLOWED',
      secrets: [crmWarrant],
    });
    assert.equal(up.hits['crm'], hits, `${host}: nothing forwarded`);
    expectNoRecord(h, records);
  }
});

test('a browser Origin that is neither the gateway nor listed: 403 WARRANT_ORIGIN_NOT_ALLOWED, nothing forwarded', async () => {
  for (const origin of ['https://evil.example.com', 'null', `http://localhost:${gwPort}`, 'not an origin']) {
    const hits = up.hits['crm']!;
    const records = h.decisions.records.length;
    const r = await asHost(`127.0.0.1:${gwPort}`, '/crm/contacts/1', { origin });
    await expectRefusal(r, {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_ORIGIN_NOT_ALLOWED',
      secrets: [crmWarrant],
    });
    await sleep(10);
    assert.equal(up.hits['crm'], hits, `${origin}: nothing forwarded`);
    expectNoRecord(h, records);
  }
  // A repeated Origin is refused too.
  const hits = up.hits['crm']!;
  const twice = await raw(`${h.gw.url}/crm/contacts/1`, {
    headers: [
      ['authorization', `DPoP ${crmWarrant}`],
      ['dpop', executor.dpopProof('GET', `${h.gw.url}/crm/contacts/1`, crmWarrant)],
      ['origin', APP_ORIGIN],
      ['origin', 'https://evil.example.com'],
    ],
  });
  await expectRefusal(twice, { status: 403, error: 'access_denied', code: 'WARRANT_ORIGIN_NOT_ALLOWED' });
  assert.equal(up.hits['crm'], hits);
});

test('a listed Origin, the gateway’s own origin and no Origin at all pass', async () => {
  for (const origin of [
    APP_ORIGIN,
    `${APP_ORIGIN}:443`,
    `http://127.0.0.1:${gwPort}`,
    PUBLIC_URL,
    undefined,
  ]) {
    const r = await asHost(`127.0.0.1:${gwPort}`, '/crm/contacts/1', origin === undefined ? {} : { origin });
    assert.equal(r.status, 200, `${origin}: ${r.body}`);
  }
});

test('RFC 9728 metadata: `resource` and the challenge pointer come from gateway.publicUrl, whatever the Host', async () => {
  for (const host of [`127.0.0.1:${gwPort}`, 'evil.example.com', 'localhost']) {
    const r = await raw(`${h.gw.url}/.well-known/oauth-protected-resource/mcp`, {
      headers: [['host', host]],
    });
    assert.equal(r.status, 200, r.body);
    const metadata = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(metadata['resource'], `${PUBLIC_URL}/mcp`, `Host ${host}`);
    assert.equal(metadata['warrant_audience'], MCP);
  }
  const challenge = await asHost(`localhost:${gwPort}`, '/crm/contacts/1', { credentials: false });
  assert.equal(challenge.status, 401);
  assert.match(
    String(challenge.headers['www-authenticate']),
    new RegExp(`resource_metadata="${PUBLIC_URL}/\\.well-known/oauth-protected-resource/crm"`),
  );
});

test('with the caller’s Host preserved, TLS to an https upstream still names the upstream (SNI), not the caller’s Host', async () => {
  const records = h.decisions.records.length;
  // The gateway does not trust the upstream's self-signed certificate: the call fails after the handshake
  // started, which is when the upstream learns the name it was asked for.
  const r = await asHost('gw.example.test', '/tls/x');
  await expectRefusal(r, {
    status: 502,
    error: 'bad_gateway',
    code: 'WARRANT_UPSTREAM_FAILED',
    secrets: [crmWarrant],
  });
  assert.deepEqual(sniNames, ['localhost'], 'SNI names the upstream');
  const outcome = h.decisions.records.slice(records).find((o) => o.kind === 'outcome');
  assert.equal(outcome?.outcome, 'upstream_failed');
  assert.match(String(outcome?.error), /CERT|SELF_SIGNED/, 'the failure class says why');
});
