/**
 * The SDK's `fetch` against a resource that asks for things (a DPoP nonce, a fresh warrant), and the
 * agent's key, which no log, error, inspection or serialisation ever shows.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { tokenHash } from '../../src/core/jose/hash.ts';
import {
  AGENT_KEY_ENV,
  AgentClient,
  AgentKeyError,
  createAgent,
  createWarrantFetch,
  exportAgentKey,
  generateAgentKey,
  loadAgentKey,
} from '../../src/sdk/index.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { claimsOf, TOOLS, Upstreams } from '../gateway/rejections-support.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf, TRUST_DOMAIN } from '../support/sts-harness.ts';

const FAKE_WARRANT = 'eyJhbGciOiJFZERTQSJ9.eyJhdWQiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.c2ln';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly proof: Record<string, unknown>;
}

/** A resource that asks for a DPoP nonce first (RFC 9449 §9), then accepts only proofs carrying it. */
async function nonceResource(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const proof = claimsOf(String(req.headers['dpop']));
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, proof });
    req.resume();
    if (proof['nonce'] !== 'n-1') {
      res
        .writeHead(401, {
          'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"',
          'dpop-nonce': 'n-1',
          'content-type': 'application/json',
        })
        .end('{"error":"use_dpop_nonce"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('the SDK fetch', () => {
  let resource: Awaited<ReturnType<typeof nonceResource>>;
  before(async () => {
    resource = await nonceResource();
  });
  after(() => {
    resource.server.closeAllConnections();
    resource.server.close();
  });

  test('attaches the warrant and a fresh proof (htm, htu without query, ath), and answers use_dpop_nonce once', async () => {
    const key = generateAgentKey();
    const client = new AgentClient({ issuer: 'http://127.0.0.1:1', agentId: agentIdOf('a'), key });
    const f = createWarrantFetch({ client, warrant: FAKE_WARRANT });
    const r = await f(`${resource.url}/things?q=1`, { method: 'POST', body: '{"x":1}' });
    assert.equal(r.status, 200);
    const [first, second, ...more] = resource.seen;
    assert.deepEqual(more, []);
    for (const s of [first!, second!]) {
      assert.equal(s.authorization, `DPoP ${FAKE_WARRANT}`);
      assert.equal(s.proof['htm'], 'POST');
      assert.equal(s.proof['htu'], `${resource.url}/things`);
      assert.equal(s.proof['ath'], tokenHash(FAKE_WARRANT));
    }
    assert.equal(first!.proof['nonce'], undefined);
    assert.equal(second!.proof['nonce'], 'n-1');
    assert.notEqual(first!.proof['jti'], second!.proof['jti'], 'a fresh proof per request');
    // The nonce is remembered for the origin: the next request needs no retry.
    const again = await f(`${resource.url}/things`);
    assert.equal(again.status, 200);
    assert.equal(resource.seen.length, 3);
  });
});

describe('a pooled warrant the gateway refuses as revoked', () => {
  let h: GatewayHarness;
  const up = new Upstreams();
  before(async () => {
    h = await startGatewayHarness({
      upstreams: {
        api: up.handler('api'),
      },
      routes: (u) => [
        { match: { pathPrefix: '/api' }, upstream: u['api']!, audience: `${TOOLS}/api`, protocol: 'http' },
      ],
      catalog: [
        {
          name: 'tools:read',
          match: { protocol: 'http', method: 'GET', path: '/api/*' },
          impact: 'low',
          dataClass: 'internal',
          reversibility: 'reversible',
          blastRadius: 1,
        },
      ],
    });
  });
  after(async () => {
    await h?.close();
  });

  test('is dropped from the pool and the request is sent once more with a fresh one', async () => {
    const planner = await h.sts.agent('planner');
    const executor = await h.sts.agent('executor', { allowedAudiences: [`${TOOLS}/*`] });
    const handed = await planner.exchange({
      subjectToken: h.sts.idToken('alice', planner),
      subjectTokenType: 'urn:ietf:params:oauth:token-type:id_token',
      audience: agentIdOf('executor'),
      grants: [{ action: 'tools:*', resource: `${TOOLS}/*` }],
    });
    // No revocation view on the agent side: only the gateway can notice, so the 401 path is what is tested.
    const agent = await createAgent({
      issuer: h.sts.plane.sts.issuer,
      agentId: executor.agentId,
      key: executor.key,
      subject: { token: handed.access_token },
      revocation: false,
    });
    try {
      const hop = { audience: `${TOOLS}/api` };
      const f = agent.fetch(hop);
      assert.equal((await f(`${h.gw.url}/api/a`)).status, 200);
      const first = await agent.pool.get(hop);
      const revoked = await h.sts.admin('POST', '/revoke', { hash: first.hash, reason: 'test' });
      assert.equal(revoked.status, 200);
      const deadline = Date.now() + 10_000;
      while (h.gw.revocation.check(first.hash, first.claims.status) !== 'revoked') {
        assert.ok(Date.now() < deadline, 'the gateway learns of the revocation');
        await new Promise((r) => setTimeout(r, 20));
      }
      const r = await f(`${h.gw.url}/api/b`);
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(agent.pool.exchanges, 2, 'the revoked warrant was replaced');
      assert.notEqual((await agent.pool.get(hop)).token, first.token);
      assert.equal(up.completed['api'], 2, 'the refused request never reached the upstream');
    } finally {
      agent.close();
    }
  });
});

describe('the agent key is never shown', () => {
  let h: GatewayHarness;
  const lines: string[] = [];
  let dir: string;

  before(async () => {
    const up = new Upstreams();
    dir = mkdtempSync(join(tmpdir(), 'warrant-sdk-key-'));
    h = await startGatewayHarness({
      sts: {
        logger: createLogger({
          service: 'sts',
          level: 'trace',
          destination: { write: (l: string) => void lines.push(l) },
        }),
      },
      logs: { write: (line: string) => void lines.push(line) },
      upstreams: { api: up.handler('api') },
      routes: (u) => [
        { match: { pathPrefix: '/api' }, upstream: u['api']!, audience: `${TOOLS}/api`, protocol: 'http' },
      ],
      catalog: [
        {
          name: 'tools:read',
          match: { protocol: 'http', method: 'GET', path: '/api/*' },
          impact: 'low',
          dataClass: 'internal',
          reversibility: 'reversible',
          blastRadius: 1,
        },
      ],
    });
  });
  after(async () => {
    delete process.env[AGENT_KEY_ENV];
    rmSync(dir, { recursive: true, force: true });
    await h?.close();
  });

  test('through registration, identity, exchange and calls, no log line, error or dump holds the private key', async () => {
    const planner = await h.sts.agent('planner');
    const registered = await h.sts.agent('executor', { allowedAudiences: [`${TOOLS}/*`] });
    const secret = exportAgentKey(registered.key).d;
    process.env[AGENT_KEY_ENV] = JSON.stringify(exportAgentKey(registered.key));
    const handed = await planner.exchange({
      subjectToken: h.sts.idToken('alice', planner),
      subjectTokenType: 'urn:ietf:params:oauth:token-type:id_token',
      audience: agentIdOf('executor'),
      grants: [{ action: 'tools:*', resource: `${TOOLS}/*` }],
    });
    // The key comes from the environment (the default source).
    const agent = await createAgent({
      issuer: h.sts.plane.sts.issuer,
      agentId: `spiffe://${TRUST_DOMAIN}/agent/executor`,
      subject: { token: handed.access_token },
    });
    try {
      assert.equal(agent.client.key.kid, registered.key.kid);
      const id = await agent.identity.token();
      assert.equal(claimsOf(id.token)['sub'], agentIdOf('executor'));
      const r = await agent.fetch({ audience: `${TOOLS}/api` })(`${h.gw.url}/api/x`);
      assert.equal(r.status, 200, await r.clone().text());
      // A refusal too (a route that does not exist) — its log lines are checked as well.
      await (await agent.fetch({ audience: `${TOOLS}/api` })(`${h.gw.url}/nowhere`)).body?.cancel();
      // Errors about keys name their source only.
      process.env['WARRANT_BAD_KEY'] = JSON.stringify({ ...exportAgentKey(registered.key), x: 'AAAA' });
      const errors: string[] = [];
      for (const source of [{ env: 'WARRANT_BAD_KEY' }, { env: 'WARRANT_NO_KEY' }]) {
        try {
          loadAgentKey(source);
          assert.fail('loaded a bad key');
        } catch (e) {
          assert.ok(e instanceof AgentKeyError);
          errors.push(inspect(e, { depth: 10 }), String(e));
        }
      }
      // A key file readable by others is refused, and the error names the file, not the key.
      const file = join(dir, 'agent.jwk');
      writeFileSync(file, JSON.stringify(exportAgentKey(registered.key)));
      chmodSync(file, 0o644);
      assert.throws(
        () => loadAgentKey({ file }),
        (e: unknown) => {
          errors.push(inspect(e, { depth: 10 }));
          return e instanceof AgentKeyError && /accessible by other users/.test(e.message);
        },
      );
      chmodSync(file, 0o600);
      assert.equal(loadAgentKey({ file }).kid, registered.key.kid);
      const dumps = [
        inspect(agent, { depth: 10 }),
        inspect(agent.client.key, { depth: 10, showHidden: true }),
        JSON.stringify(agent.client.key),
        JSON.stringify(agent.client),
      ];
      assert.ok(lines.length > 5, 'the servers logged');
      for (const text of [...lines, ...errors, ...dumps])
        assert.ok(!text.includes(secret), `key material in: ${text.slice(0, 200)}`);
    } finally {
      agent.close();
      delete process.env['WARRANT_BAD_KEY'];
    }
  });
});
