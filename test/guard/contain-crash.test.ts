/**
 * A containment killed mid-rollback (`kill -9` of the control plane while a compensation is in flight) and
 * run again: `warrant serve` runs as a child process over files (STS store, guard store), a gateway in this
 * process is the ledger's writer over the same data directory, and the CLI runs as a child process. The
 * refund in flight when the control plane dies reaches the upstream, which applies it; the re-run sends it
 * again with the same Idempotency-Key (the upstream answers without refunding twice), does not resend the
 * refund done before the crash, and completes the last one. Every payment is refunded exactly once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigOverrides } from '../../src/config/types.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { type DataPlane, startDataPlane } from '../../src/runtime/data-plane.ts';
import { singleWriterOf } from '../../src/runtime/ledger-role.ts';
import { AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { PAY, PAYMENT_GRANTS, PAYMENTS_CATALOG, PaymentsUpstream } from '../support/contain-fixture.ts';
import { listen } from '../support/gateway-harness.ts';

process.env['LOG_LEVEL'] ||= 'silent';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ADMIN = `admin-${randomUUID()}`;
const IDP = 'https://idp.warrant.test';
const WIDE = { allowedAudiences: ['https://tools.warrant.test/*', 'spiffe://warrant.test/*'] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'warrant-contain-crash-'));
const compileCache = join(dir, 'compile-cache');
const idpKey = generateSigningKey('ES256');
const upstream = new PaymentsUpstream();
let upstreamServer: Server;
let configFile: string;
let stsUrl: string;
let serveChild: ChildProcess | undefined;
let gw: DataPlane;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('WARRANT_') && v !== undefined) env[k] = v;
  return {
    ...env,
    WARRANT_ADMIN_TOKEN: ADMIN,
    WARRANT_URL: stsUrl,
    NODE_COMPILE_CACHE: compileCache,
    LOG_LEVEL: 'silent',
  };
}

/** Starts `warrant serve` and waits (bounded) until it answers. */
async function startServe(): Promise<void> {
  serveChild = spawn(process.execPath, [MAIN, 'serve', '--config', configFile], {
    cwd: dir,
    env: childEnv(),
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'warrant serve answered within 30 s');
    assert.equal(serveChild.exitCode, null, 'warrant serve is running');
    const ok = await fetch(`${stsUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
}

function killServe(): Promise<void> {
  const child = serveChild!;
  serveChild = undefined;
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Runs `warrant contain …` as a child process; `onSpawn` may act on it while it runs. */
function contain(args: string[], onSpawn?: (child: ChildProcess) => void) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'contain', ...args], { cwd: dir, env: childEnv() });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      onSpawn?.(child);
    },
  );
}

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${stsUrl}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function agent(name: string): Promise<AgentClient> {
  const key = generateSigningKey();
  const r = await admin('POST', '/agents', {
    name,
    owner: 'alice@example.org',
    tier: 'planner',
    publicJwk: key.jwk,
    clientIds: { [IDP]: `${name}-app` },
    ...WIDE,
  });
  assert.equal(r.status, 201, await r.text());
  return new AgentClient({ issuer: stsUrl, agentId: `spiffe://warrant.test/agent/${name}`, key });
}

function idToken(sub: string, name: string): string {
  const now = Math.floor(Date.now() / 1000);
  return signCompact(
    { typ: 'JWT' },
    { iss: IDP, sub, aud: `${name}-app`, iat: now, exp: now + 300, nonce: randomUUID() },
    idpKey,
  );
}

before(async () => {
  const up = await listen(upstream.handler);
  upstreamServer = up.server;
  const port = await freePort();
  stsUrl = `http://127.0.0.1:${port}`;
  const jwksFile = join(dir, 'idp-jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...idpKey.jwk }] }));
  const catalog = join(dir, 'catalog.json');
  writeFileSync(catalog, JSON.stringify({ actions: PAYMENTS_CATALOG }));
  const overrides = {
    trustDomain: 'warrant.test',
    dataDir: join(dir, 'data'),
    sts: {
      issuer: stsUrl,
      listen: { host: '127.0.0.1', port },
      trustedIssuers: [
        { issuer: IDP, jwksFile, audience: 'warrant-sts', kind: 'oidc', assertions: ['id_token'] },
      ],
    },
    gateway: {
      issuer: stsUrl,
      listen: { host: '127.0.0.1', port: 0 },
      routes: [{ match: { pathPrefix: '/pay' }, upstream: up.url, audience: PAY, protocol: 'http' }],
    },
    guard: { catalog, contain: { compensationTimeoutMs: 1000 } },
  };
  configFile = join(dir, 'warrant.json');
  writeFileSync(configFile, JSON.stringify(overrides));
  await startServe();
  gw = await startDataPlane(loadConfig(configFile, {} as ConfigOverrides));
});

after(async () => {
  await killServe();
  await gw?.close();
  upstreamServer?.closeAllConnections();
  await new Promise((r) => upstreamServer?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('kill -9 mid-rollback, then a re-run: every payment refunded exactly once, nothing resent that was done', async () => {
  const [a1, a2, a3] = [await agent('a1'), await agent('a2'), await agent('a3')];
  const root = (
    await a1.exchange({
      subjectToken: idToken('alice', 'a1'),
      subjectTokenType: TOKEN_TYPES.idToken,
      audience: 'spiffe://warrant.test/agent/a2',
      grants: PAYMENT_GRANTS,
    })
  ).access_token;
  const toA3 = (
    await a2.exchange({
      subjectToken: root,
      subjectTokenType: TOKEN_TYPES.warrant,
      audience: 'spiffe://warrant.test/agent/a3',
    })
  ).access_token;
  const leaf = (
    await a3.exchange({ subjectToken: toA3, subjectTokenType: TOKEN_TYPES.warrant, audience: PAY })
  ).access_token;
  const txn = JSON.parse(Buffer.from(root.split('.')[1]!, 'base64url').toString('utf8')).txn as string;
  const paid: string[] = [];
  for (const amount of [10, 20, 30]) {
    const url = `${gw.url}/pay/payments`;
    const r = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `DPoP ${leaf}`,
        dpop: a3.dpopProof('POST', url, leaf),
        'warrant-chain': [root, toA3, leaf].join(', '),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ amount, currency: 'EUR' }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    paid.push(((await r.json()) as { id: string }).id);
  }

  // Newest first: pay-3 is refunded, then pay-2's refund hangs — and the control plane is killed.
  upstream.holding.add(paid[1]!);
  const held = new Promise<void>((resolve) => {
    upstream.onHeld = () => resolve();
  });
  const first = await contain(['--txn', txn], () => {
    void held.then(() => killServe());
  });
  assert.notEqual(first.code, 0, 'the first run did not complete');
  assert.match(first.stdout, /compensated payments:create/, 'pay-3 was refunded before the crash');
  assert.deepEqual(upstream.refunds, [paid[2]]);
  // The upstream finishes the refund it was given (the answer goes nowhere): applied once.
  upstream.holding.clear();
  upstream.release();
  assert.deepEqual(upstream.refunds, [paid[2], paid[1]]);

  await startServe();
  // The step left running is taken over once its claim expires (twice the compensation timeout): until
  // then a run reports it as being compensated elsewhere. Bounded.
  let done = false;
  for (let attempt = 0; attempt < 10 && !done; attempt++) {
    const again = await contain(['--txn', txn, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout) as { steps: { detail: { reason?: string } }[] };
    done = !result.steps.some((s) => s.detail.reason === 'being compensated by another run');
    if (!done) await sleep(500);
  }
  assert.ok(done, 'a re-run completed the containment');

  assert.deepEqual(upstream.refunds, [paid[2], paid[1], paid[0]], 'each payment refunded once, newest first');
  const keys = upstream.received.map((r) => r.key);
  assert.equal(
    keys.filter((k) => k === keys[0]).length,
    1,
    'the refund done before the crash was not resent',
  );
  assert.equal(
    keys.filter((k) => k === keys[1]).length,
    2,
    'the refund in flight was resent with the same key',
  );
  assert.equal(new Set(keys).size, 3);

  // Every compensation is in the ledger once as done.
  await gw.drain!.drain();
  const records = (await singleWriterOf(gw.ledger).ledger.query({ txn, limit: 1000 })).items
    .map((i) => i.record)
    .filter((r) => r.kind === 'containment' && r.containment?.step === 'compensate');
  assert.deepEqual(
    records.map((r) => r.containment!.outcome),
    ['done', 'done', 'done'],
  );
  assert.equal(new Set(records.map((r) => r.decisionId)).size, 3);
});
