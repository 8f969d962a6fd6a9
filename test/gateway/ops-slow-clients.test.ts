/**
 * Slow clients are bounded and answered (DESIGN §7, §12): a client that trickles its header block
 * (slowloris) is cut off at `gateway.limits.headersTimeoutMs`, one that trickles its body at
 * `requestTimeoutMs` — answered 408 and disconnected, never holding a connection open indefinitely.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { startGateway } from '../../src/gateway/start-gateway.ts';
import { MemoryDecisionLog } from '../../src/ledger/decision-log.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { hop, rootWarrant, sleep, TOOLS, Upstreams, WIDE } from './rejections-support.ts';

const HEADERS_TIMEOUT_MS = 400;
const REQUEST_TIMEOUT_MS = 1200;
const FILES = `${TOOLS}/files`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

const up = new Upstreams();
let h: GatewayHarness;
let executor: AgentClient;
let warrant: string;

before(async () => {
  h = await startGatewayHarness({
    upstreams: { files: up.handler('files') },
    routes: (u) => [
      { match: { pathPrefix: '/files' }, upstream: u['files']!, audience: FILES, protocol: 'http' },
    ],
    catalog: [
      { name: 'tools:upload', match: { protocol: 'http', method: 'POST', path: '/files/*' }, ...low },
    ],
    overrides: {
      gateway: {
        limits: {
          maxBodyBytes: 1 << 20,
          maxHeaderBytes: 16384,
          upstreamTimeoutMs: 10_000,
          headersTimeoutMs: HEADERS_TIMEOUT_MS,
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
        },
      },
    },
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'tools:*', resource: `${TOOLS}/*` },
  ]);
  warrant = await hop(executor, root, FILES);
});

after(() => h?.close());

interface Outcome {
  /** Milliseconds from connecting until the gateway closed the connection. */
  readonly closedAfterMs: number;
  /** Everything the gateway sent. */
  readonly answer: string;
}

/**
 * Opens a raw connection, sends `head` at once, then `trickle` one byte every `everyMs` until the gateway
 * closes the connection (or `giveUpMs` passes).
 */
function trickle(head: string, trickleText: string, everyMs: number, giveUpMs = 5000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(Number(new URL(h.gw.url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway kept the connection open for ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('connect', () => {
      socket.write(head);
      let i = 0;
      timer = setInterval(() => {
        if (socket.destroyed || socket.writableEnded) return;
        socket.write(trickleText[i++ % trickleText.length]!);
      }, everyMs);
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, answer: Buffer.concat(chunks).toString() });
    });
  });
}

test('slowloris: a header block trickled one byte per 200 ms is answered 408 and closed at headersTimeoutMs', async () => {
  const hits = up.total;
  const outcome = await trickle('GET /files/a HTTP/1.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 200);
  // Not before the bound, and within it plus the listener's checking interval (a quarter of the bound).
  assert.ok(outcome.closedAfterMs >= HEADERS_TIMEOUT_MS - 50, `closed after ${outcome.closedAfterMs} ms`);
  assert.ok(outcome.closedAfterMs < HEADERS_TIMEOUT_MS + 800, `closed after ${outcome.closedAfterMs} ms`);
  assert.match(outcome.answer, /^HTTP\/1\.1 408 /);
  assert.match(outcome.answer, /\r\nConnection: close\r\n/i);
  assert.equal(up.total, hits, 'nothing was forwarded');
  // A normal client is served meanwhile.
  assert.equal((await fetch(`${h.gw.url}/healthz`)).status, 200);
});

test('a body trickled past requestTimeoutMs: 408 and closed; the upstream request is abandoned', async () => {
  const url = `${h.gw.url}/files/upload.bin`;
  const host = new URL(h.gw.url).host;
  const head =
    `POST /files/upload.bin HTTP/1.1\r\nHost: ${host}\r\nAuthorization: DPoP ${warrant}\r\n` +
    `DPoP: ${executor.dpopProof('POST', url, warrant)}\r\nContent-Type: application/octet-stream\r\n` +
    'Content-Length: 100000\r\n\r\n';
  const completed = up.completed['files'];
  const outcome = await trickle(head, 'z', 100);
  assert.ok(outcome.closedAfterMs >= REQUEST_TIMEOUT_MS - 50, `closed after ${outcome.closedAfterMs} ms`);
  assert.ok(outcome.closedAfterMs < REQUEST_TIMEOUT_MS + 1000, `closed after ${outcome.closedAfterMs} ms`);
  assert.match(outcome.answer, /^HTTP\/1\.1 408 /);
  assert.match(outcome.answer, /\r\nConnection: close\r\n/i);
  await sleep(50);
  assert.equal(up.completed['files'], completed, 'the upstream never received a whole body');
});

test('timeouts are checked at start: headersTimeoutMs above requestTimeoutMs is a configuration error', async () => {
  const config = loadConfig(undefined, {
    dataDir: h.sts.config.dataDir,
    gateway: { listen: { port: 0 }, limits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } },
  });
  await assert.rejects(
    startGateway(config, {
      issuer: h.sts.url,
      keys: () => h.sts.plane.sts.keys.keySet(Math.floor(Date.now() / 1000)).resolve,
      decisions: new MemoryDecisionLog(),
    }),
    { code: 'WARRANT_CONFIG_INVALID', path: '/gateway/limits/headersTimeoutMs' },
  );
  // Mutual TLS without a client CA is refused by the schema (it would trust every public CA).
  assert.throws(
    () =>
      loadConfig(undefined, {
        gateway: { tls: { cert: 'server.crt', key: 'server.key', requireClientCert: true } },
      }),
    { code: 'WARRANT_CONFIG_INVALID', path: '/gateway/tls/ca' },
  );
});
