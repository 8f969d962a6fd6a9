/**
 * TLS on the gateway listener (DESIGN §7 "Listeners can terminate TLS and require mTLS"): with
 * `gateway.tls` the gateway speaks HTTPS, DPoP proofs are checked against the `https://` URI, and with
 * `requireClientCert` a client without a certificate from the configured CA fails the TLS handshake —
 * nothing is read from it, nothing is decided, nothing is forwarded.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { expectNoRecord, hop, rootWarrant, TOOLS, Upstreams, WIDE } from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

const dir = mkdtempSync(join(tmpdir(), 'warrant-tls-'));
const up = new Upstreams();
let h: GatewayHarness;
let executor: AgentClient;
let warrant: string;
const agents: Agent[] = [];

/** Runs openssl in the temp dir. */
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A self-signed CA: `<name>.crt`, `<name>.key`. */
function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

/** A leaf certificate `<name>.crt`/`<name>.key` issued by CA `ca`, with these X.509v3 extensions. */
function makeLeaf(name: string, ca: string, extensions: string[]): void {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  );
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
}

const file = (name: string) => readFileSync(join(dir, name));

/** An undici dispatcher trusting the test CA, presenting `client` (`<client>.crt/.key`) when given. */
function dispatcher(client?: string): Agent {
  const agent = new Agent({
    connect: {
      ca: file('ca.crt'),
      ...(client ? { cert: file(`${client}.crt`), key: file(`${client}.key`) } : {}),
    },
  });
  agents.push(agent);
  return agent;
}

/** A DPoP-authenticated GET over HTTPS through `through`; `htu` defaults to the exact https URL. */
function call(through: Agent, path: string, htu?: string) {
  const url = `${h.gw.url}${path}`;
  return undiciFetch(url, {
    headers: {
      authorization: `DPoP ${warrant}`,
      dpop: executor.dpopProof('GET', htu ?? url, warrant),
    },
    dispatcher: through,
  });
}

/**
 * A raw TLS connection presenting `client` (if any) that asks `/healthz` once the handshake is done: the
 * TLS alert code the client received, `answered` when an HTTP answer came back, `closed` otherwise.
 */
function handshake(client?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: Number(new URL(h.gw.url).port),
      ca: file('ca.crt'),
      ...(client ? { cert: file(`${client}.crt`), key: file(`${client}.key`) } : {}),
    });
    socket.once('secureConnect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n'));
    socket.once('data', () => {
      resolve('answered');
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('close', () => resolve('closed'));
  });
}

before(async () => {
  makeCa('ca');
  makeCa('other-ca');
  makeLeaf('server', 'ca', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'extendedKeyUsage=serverAuth',
    'keyUsage=critical,digitalSignature',
  ]);
  const clientExt = [
    `subjectAltName=URI:${agentIdOf('executor')}`,
    'extendedKeyUsage=clientAuth',
    'keyUsage=critical,digitalSignature',
  ];
  makeLeaf('client', 'ca', clientExt);
  makeLeaf('stranger', 'other-ca', clientExt);
  h = await startGatewayHarness({
    upstreams: { crm: up.handler('crm') },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [{ name: 'tools:crm.read', match: { protocol: 'http', method: 'GET', path: '/crm/*' }, ...low }],
    overrides: {
      gateway: {
        tls: {
          cert: join(dir, 'server.crt'),
          key: join(dir, 'server.key'),
          ca: join(dir, 'ca.crt'),
          requireClientCert: true,
        },
      },
    },
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'tools:*', resource: `${TOOLS}/*` },
  ]);
  warrant = await hop(executor, root, CRM);
});

after(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the listener speaks https; an allowed call with a client certificate is forwarded (200)', async () => {
  assert.match(h.gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const r = await call(dispatcher('client'), '/crm/contacts/1');
  assert.equal(r.status, 200, await r.clone().text());
  assert.deepEqual(await r.json(), { ok: true });
  assert.equal(up.completed['crm'], 1);
  // The health endpoints are behind the same listener, so they need a client certificate as well.
  assert.equal((await undiciFetch(`${h.gw.url}/healthz`, { dispatcher: dispatcher('client') })).status, 200);
});

test('DPoP htu is the https URI: a proof for http:// is refused (401 WARRANT_DPOP_HTU_MISMATCH)', async () => {
  const from = h.decisions.records.length;
  const hits = up.total;
  const plain = `${h.gw.url.replace('https:', 'http:')}/crm/contacts/2`;
  const r = await call(dispatcher('client'), '/crm/contacts/2', plain);
  assert.equal(r.status, 401);
  const body = (await r.json()) as Record<string, unknown>;
  assert.equal(body['code'], 'WARRANT_DPOP_HTU_MISMATCH');
  const challenge = String(r.headers.get('www-authenticate'));
  assert.match(challenge, /^Bearer resource_metadata="https:[^"]+", DPoP .*error="invalid_dpop_proof"/);
  // The RFC 9728 metadata the challenge points at is an https URL too.
  assert.ok(challenge.includes(`resource_metadata="${h.gw.url}/.well-known/oauth-protected-resource/crm"`));
  assert.equal(up.total, hits);
  expectNoRecord(h, from);
});

test('without a client certificate the TLS handshake is refused; nothing is decided or forwarded', async () => {
  const from = h.decisions.records.length;
  const hits = up.total;
  await assert.rejects(call(dispatcher(), '/crm/contacts/3'), (error: Error) => {
    const cause = String((error.cause as Error | undefined)?.message ?? error.cause ?? error.message);
    assert.match(cause, /certificate|handshake|socket|closed|reset/i, cause);
    return true;
  });
  // The server refused the handshake itself (TLS 1.3 alert "certificate required").
  assert.equal(await handshake(), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  assert.equal(up.total, hits);
  expectNoRecord(h, from);
});

test('a client certificate from another CA is refused at the handshake', async () => {
  const from = h.decisions.records.length;
  const hits = up.total;
  await assert.rejects(call(dispatcher('stranger'), '/crm/contacts/4'), (error: Error) => {
    const cause = String((error.cause as Error | undefined)?.message ?? error.cause ?? error.message);
    assert.match(cause, /certificate|unknown ca|handshake|socket|closed|reset/i, cause);
    return true;
  });
  // Raw: the server verifies the certificate when the handshake completes and drops the connection
  // before reading a byte of HTTP (node reports it as a TLS client error).
  const failures: string[] = [];
  const onFailure = (error: Error) => failures.push(error.message);
  h.gw.server.on('tlsClientError', onFailure);
  try {
    // Closed without an answer (a reset if the request bytes were still unread when it was dropped).
    assert.ok(['closed', 'ECONNRESET'].includes(await handshake('stranger')));
    for (let i = 0; i < 50 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(failures.length, 1, 'the listener refused the handshake');
  } finally {
    h.gw.server.off('tlsClientError', onFailure);
  }
  assert.equal(await handshake('client'), 'answered');
  assert.equal(up.total, hits);
  expectNoRecord(h, from);
});

test('plain HTTP to the TLS listener gets no answer from the gateway', async () => {
  const hits = up.total;
  const r = await fetch(`${h.gw.url.replace('https:', 'http:')}/crm/contacts/5`).then(
    (response) => response.status,
    () => 'refused',
  );
  // Node's TLS server either drops the connection or answers a bare 400; the request never reaches a route.
  assert.ok(r === 'refused' || r === 400, String(r));
  assert.equal(up.total, hits);
});
