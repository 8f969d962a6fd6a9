/**
 * Child process for bench/gateway.bench.ts: the baseline, a plain Node reverse proxy. A `node:http` server
 * forwarding every request to one upstream through an undici `Pool`, with the gateway's header handling
 * (hop-by-hop headers and `host` dropped, `content-length` kept), request and response bodies streamed,
 * back-pressure honoured. No authentication, no policy, no record: what any Node proxy does anyway. It is
 * written the idiomatic way, so it is not handicapped by the gateway's own choices (e.g. the gateway's
 * `flushHeaders()`, an extra socket write per response, is gateway cost here).
 *
 * With `floor` it is the floor of the gateway's full path instead: the same proxy doing, on every request, the
 * work DESIGN makes every forwarded call pay and nothing else, the way the gateway does it (see `floorWork`).
 * Its figures against the plain proxy's are what no gateway implementation of DESIGN §7 can beat on this
 * machine in this run; the gateway's figures against it are the gateway's own overhead.
 *
 * argv[2] is a JSON `{ upstream, floor? }`. Answers `{ type: 'ready', url }` over IPC, then the commands of
 * child.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { countRequest } from '../../src/core/load.ts';
import { FileDecisionLog } from '../../src/ledger/decision-log.ts';
import { childSpec, closeServer, listenLoopback, serveCommands } from './child.ts';
import { benchDecisionRecord } from './decision-record.ts';
import { mandatedSignatures } from './mandated-work.ts';

export interface ProxySpec {
  readonly upstream: string;
  /** Be the floor of the gateway's full path, with its decision log at `logPath`. */
  readonly floor?: { readonly logPath: string };
}

const spec = childSpec<ProxySpec>();
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);
const CREDENTIALS = new Set(['authorization', 'dpop', 'warrant-chain']);
const pool = new Pool(new URL(spec.upstream).origin, {
  connections: 128,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
});

// The cheapest durable record (DESIGN §9's latency floor is one append with fdatasync): a JSON-lines file,
// written and fdatasynced once per batch, the records of a batch acknowledged together.
const log = spec.floor ? new FileDecisionLog(spec.floor.logPath) : undefined;
const signatures = spec.floor ? mandatedSignatures() : undefined;
/** Records written: the next decision record's number (its id and txn vary with it). */
let written = 0;

/**
 * What every call through the gateway needs at the least, in the gateway's order and on the same threads:
 * the DPoP proof's Ed25519 verification; then the decision record made durable in the cheapest durable log
 * (not the Merkle ledger: its indexes and tree are the gateway's choice, not the floor) while the Txn-Token
 * is signed, on libuv's pool while other requests are in flight and inline at one request at a time
 * (src/core/load.ts), as the gateway signs. Returns the Txn-Token.
 */
async function floorWork(id: string): Promise<string> {
  await signatures!.verifyProof();
  const durable = log!.append({ ...benchDecisionRecord(written++, 'gw-floor'), id });
  const txnToken = signatures!.signTxnToken();
  await durable;
  return await txnToken;
}

async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const decisionId = log ? randomUUID() : undefined;
  if (log) {
    countRequest(res);
    res.once('finish', () =>
      log.note({
        id: randomUUID(),
        kind: 'outcome',
        time: new Date().toISOString(),
        gateway: 'gw-floor',
        decisionId,
        outcome: 'forwarded',
        status: res.statusCode,
      }),
    );
  }
  let txnToken: string | undefined;
  try {
    txnToken = log ? await floorWork(decisionId!) : undefined;
  } catch {
    // As the gateway: a record that cannot be made durable is a 503 and nothing is forwarded.
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"not_recorded"}');
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    // The gateway never forwards the caller's credentials (DESIGN §7).
    if (txnToken !== undefined && CREDENTIALS.has(name)) continue;
    headers[name] = value;
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  if (hasBody && req.headers['content-length'] !== undefined)
    headers['content-length'] = req.headers['content-length'];
  if (txnToken !== undefined) headers['txn-token'] = txnToken;
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const response = await pool.request({
      method: (req.method ?? 'GET') as 'GET',
      path: req.url ?? '/',
      headers,
      body: hasBody ? req : null,
      signal: abort.signal,
    });
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      out[name] = value;
    }
    if (response.headers['content-length'] !== undefined)
      out['content-length'] = String(response.headers['content-length']);
    // No flushHeaders(): node sends the head with the first body chunk, one write for a small answer.
    res.writeHead(response.statusCode, out);
    for await (const chunk of response.body) {
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.on('drain', done).on('close', done);
        });
      }
    }
    res.end();
  } catch {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad_gateway"}');
  }
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => void proxy(req, res));
server.keepAliveTimeout = 60_000;
const url = await listenLoopback(server);

serveCommands(
  { url },
  {
    server,
    stats: log ? () => ({ logBatches: log.batches, logRecords: log.records }) : undefined,
    async stop() {
      await closeServer(server);
      await pool.close();
      await log?.close();
    },
  },
);
