/**
 * The receiver middleware (`warrant/verify`) for node:http, Express, Fastify and Hono, each against a real
 * STS (its JWKS, status lists and SSE revocation feed through a TCP proxy): the happy path exposes person,
 * actor chain and grants to the handler; the gateway's rejection cases — a forged warrant, a replayed DPoP
 * proof, a revoked warrant, a warrant for another audience, revocation data past the staleness bound — are
 * refused with the gateway's status, code and `WWW-Authenticate`, and the handler never runs.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { decode, encode } from '../../src/core/jose/base64url.ts';
import { tokenHash } from '../../src/core/jose/hash.ts';
import type { StatusRef } from '../../src/core/tokens/index.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import {
  WarrantReceiver,
  type WarrantVariables,
  warrantExpress,
  warrantFastify,
  warrantHono,
  withWarrant,
} from '../../src/verify/index.ts';
import {
  claimsOf,
  expectRefusal,
  hop,
  rootWarrant,
  sleep,
  TOOLS,
  WIDE,
} from '../gateway/rejections-support.ts';
import type { GatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf, type Harness, startHarness } from '../support/sts-harness.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const ORDERS = `${TOOLS}/orders`;
const GRANTS = [{ action: 'orders:*', resource: `${TOOLS}/*` }];
/** The receivers' staleness bound (s): short, so the fail-closed case is quick. */
const STALENESS_S = 2;

interface Service {
  readonly name: string;
  url: string;
  receiver: WarrantReceiver;
  /** Requests the handler ran for. */
  handled: number;
  close(): Promise<void>;
}

/** What every handler answers: the verified caller as the framework exposed it. */
function describeCaller(
  w: { person: unknown; actorChain: unknown; grants: unknown; txn: unknown } | undefined,
) {
  return { person: w?.person, actorChain: w?.actorChain, grants: w?.grants, txn: w?.txn };
}

const addressOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function listening(server: Server): Promise<string> {
  if (!server.listening) await new Promise<void>((r) => server.once('listening', r));
  return addressOf(server);
}

const closeServer = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

/** One service per framework, each with its own receiver. */
const STARTERS: Record<
  string,
  (receiver: WarrantReceiver, service: Service) => Promise<() => Promise<void>>
> = {
  'node:http': async (receiver, service) => {
    const server = createServer(
      withWarrant(receiver, (req, res) => {
        service.handled++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(describeCaller(req.warrant as never)));
      }),
    );
    server.listen(0, '127.0.0.1');
    service.url = await listening(server);
    return () => closeServer(server);
  },
  express: async (receiver, service) => {
    const app = express();
    app.use(warrantExpress(receiver));
    app.get('/orders/:id', (req, res) => {
      service.handled++;
      res.json(describeCaller(req.warrant));
    });
    const server = app.listen(0, '127.0.0.1');
    service.url = await listening(server);
    return () => closeServer(server);
  },
  fastify: async (receiver, service) => {
    const app = Fastify();
    app.addHook('onRequest', warrantFastify(receiver));
    app.get('/orders/:id', async (request) => {
      service.handled++;
      return describeCaller(request.warrant);
    });
    service.url = await app.listen({ port: 0, host: '127.0.0.1' });
    return () => app.close();
  },
  hono: async (receiver, service) => {
    const app = new Hono<{ Variables: WarrantVariables }>();
    app.use(warrantHono(receiver));
    app.get('/orders/:id', (c) => {
      service.handled++;
      return c.json(describeCaller(c.get('warrant')));
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    service.url = await listening(server);
    return () => closeServer(server);
  },
};

let proxy: TcpProxy;
let sts: Harness;
let planner: AgentClient;
let executor: AgentClient;
const services: Service[] = [];

before(async () => {
  proxy = await TcpProxy.start();
  // The STS's public issuer is the proxy: warrants, keys, status lists and the feed all go through it.
  sts = await startHarness({ overrides: { sts: { issuer: proxy.url } } });
  proxy.target = { host: '127.0.0.1', port: Number(new URL(sts.url).port) };
  planner = await sts.agent('planner');
  executor = await sts.agent('executor', WIDE);
  for (const [name, start] of Object.entries(STARTERS)) {
    const receiver = await WarrantReceiver.start({
      issuer: proxy.url,
      audience: ORDERS,
      stalenessSeconds: STALENESS_S,
      resourceMetadata: 'http://127.0.0.1/.well-known/oauth-protected-resource/orders',
    });
    const service: Service = { name, url: '', receiver, handled: 0, close: async () => {} };
    const stop = await start(receiver, service);
    service.close = async () => {
      await stop();
      await receiver.close();
    };
    services.push(service);
  }
});

after(async () => {
  for (const s of services) await s.close();
  await sts?.close();
  await proxy?.close();
});

/** Harness shape the rejection helpers expect (they only use `sts`). */
const asGateway = (): GatewayHarness => ({ sts }) as unknown as GatewayHarness;

/** A fresh warrant alice → planner → executor, addressed to `audience`. */
async function warrantFor(audience: string): Promise<{ root: string; leaf: string }> {
  const root = await rootWarrant(asGateway(), planner, agentIdOf('executor'), GRANTS);
  const leaf = await hop(executor, root, audience);
  return { root, leaf };
}

function call(
  service: Service,
  warrant: string,
  options: { proof?: string; chain?: string[]; path?: string } = {},
): Promise<Response> {
  const url = `${service.url}${options.path ?? '/orders/7'}`;
  return fetch(url, {
    headers: {
      authorization: `DPoP ${warrant}`,
      dpop: options.proof ?? executor.dpopProof('GET', url, warrant),
      ...(options.chain ? { 'warrant-chain': options.chain.join(', ') } : {}),
    },
  });
}

/** Runs `fn` and asserts the service's handler did not run. */
async function handlerNotRun(service: Service, fn: () => Promise<void>): Promise<void> {
  const before = service.handled;
  await fn();
  assert.equal(service.handled, before, 'the handler did not run');
}

for (const name of Object.keys(STARTERS)) {
  describe(name, () => {
    const service = () => services.find((s) => s.name === name)!;

    test('happy path: the handler sees the person, the actor chain and the grants', async () => {
      const { root, leaf } = await warrantFor(ORDERS);
      for (const chain of [undefined, [root, leaf]]) {
        const r = await call(service(), leaf, chain ? { chain } : {});
        assert.equal(r.status, 200, await r.clone().text());
        const body = (await r.json()) as ReturnType<typeof describeCaller>;
        assert.deepEqual(body.person, { sub: 'alice', iss: 'https://idp.warrant.test' });
        assert.deepEqual(body.actorChain, [
          'spiffe://warrant.test/agent/planner',
          'spiffe://warrant.test/agent/executor',
        ]);
        assert.deepEqual(
          (body.grants as { action: string }[]).map((g) => g.action),
          ['orders:*'],
        );
        assert.equal(body.txn, claimsOf(leaf)['txn']);
      }
    });

    test('forged warrant (payload changed after signing): 401 invalid_token WARRANT_JWS_SIGNATURE_INVALID', async () => {
      const { leaf } = await warrantFor(ORDERS);
      const [h, p, s] = leaf.split('.');
      const claims = JSON.parse(Buffer.from(decode(p!)).toString('utf8'));
      const forged = `${h}.${encode(JSON.stringify({ ...claims, sub: 'mallory' }))}.${s}`;
      await handlerNotRun(service(), async () => {
        await expectRefusal(await call(service(), forged), {
          status: 401,
          error: 'invalid_token',
          code: 'WARRANT_JWS_SIGNATURE_INVALID',
          secrets: [forged],
        });
      });
    });

    test('replayed DPoP proof: the second use is 401 invalid_dpop_proof WARRANT_DPOP_REPLAYED', async () => {
      const { leaf } = await warrantFor(ORDERS);
      const proof = executor.dpopProof('GET', `${service().url}/orders/7`, leaf);
      const first = await call(service(), leaf, { proof });
      assert.equal(first.status, 200, await first.text());
      await handlerNotRun(service(), async () => {
        await expectRefusal(await call(service(), leaf, { proof }), {
          status: 401,
          error: 'invalid_dpop_proof',
          code: 'WARRANT_DPOP_REPLAYED',
          secrets: [leaf, proof],
        });
      });
    });

    test('revoked warrant: 401 invalid_token WARRANT_TOKEN_REVOKED once the feed says so', async () => {
      const { root, leaf } = await warrantFor(ORDERS);
      const ok = await call(service(), leaf);
      assert.equal(ok.status, 200, await ok.text());
      const revoked = await sts.admin('POST', '/revoke', { hash: tokenHash(root) });
      assert.equal(revoked.status, 200, await revoked.text());
      const status = claimsOf(leaf)['status'] as StatusRef;
      const deadline = Date.now() + 5000;
      while (service().receiver.revocation!.check(tokenHash(leaf), status) !== 'revoked') {
        assert.ok(Date.now() < deadline, 'the receiver saw the revocation within 5 s');
        await sleep(25);
      }
      await handlerNotRun(service(), async () => {
        await expectRefusal(await call(service(), leaf), {
          status: 401,
          error: 'invalid_token',
          code: 'WARRANT_TOKEN_REVOKED',
          secrets: [leaf],
        });
      });
    });

    test('warrant for another audience: 401 invalid_token WARRANT_AUDIENCE_MISMATCH', async () => {
      const { leaf } = await warrantFor(`${TOOLS}/mail`);
      await handlerNotRun(service(), async () => {
        await expectRefusal(await call(service(), leaf), {
          status: 401,
          error: 'invalid_token',
          code: 'WARRANT_AUDIENCE_MISMATCH',
          secrets: [leaf],
        });
      });
    });

    test('no credentials: 401 with a bare challenge, WARRANT_CREDENTIALS_MISSING', async () => {
      await handlerNotRun(service(), async () => {
        await expectRefusal(await fetch(`${service().url}/orders/7`), {
          status: 401,
          error: 'invalid_token',
          code: 'WARRANT_CREDENTIALS_MISSING',
          bareChallenge: true,
        });
      });
    });
  });
}

test('stale revocation data (STS link black-holed past the bound): every framework fails closed, 503 WARRANT_STATUS_STALE', async () => {
  const warrants = new Map<string, string>();
  for (const s of services) {
    const { leaf } = await warrantFor(ORDERS);
    const ok = await call(s, leaf);
    assert.equal(ok.status, 200, await ok.text());
    warrants.set(s.name, leaf);
  }
  proxy.partition();
  try {
    for (const s of services) {
      const leaf = warrants.get(s.name)!;
      // Bounded: the bound plus a generous margin for a loaded machine.
      const deadline = Date.now() + STALENESS_S * 1000 + 8000;
      let r = await call(s, leaf);
      while (r.status === 200 && Date.now() < deadline) {
        await r.arrayBuffer();
        await sleep(100);
        r = await call(s, leaf);
      }
      await handlerNotRun(s, async () => {
        await expectRefusal(r, {
          status: 503,
          error: 'unavailable',
          code: 'WARRANT_STATUS_STALE',
          secrets: [leaf],
        });
        // Once stale, it stays closed.
        await expectRefusal(await call(s, leaf), {
          status: 503,
          error: 'unavailable',
          code: 'WARRANT_STATUS_STALE',
        });
      });
    }
  } finally {
    proxy.heal();
  }
});
