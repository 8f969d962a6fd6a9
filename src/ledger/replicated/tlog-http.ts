/**
 * The replicated log, read-only, as C2SP tlog-tiles (https://c2sp.org/tlog-tiles) under a prefix of the
 * control plane's listener (default `/ledger`), so standard transparency-log tools can read it:
 *
 *   GET  <prefix>/checkpoint                     the latest signed checkpoint (with witness co-signatures)
 *   GET  <prefix>/tile/<L>/<N>[.p/<W>]           a hash tile (full tiles are immutable: cached for a year)
 *   GET  <prefix>/tile/entries/<N>[.p/<W>]       an entry bundle (the records' canonical texts)
 *   GET  <prefix>/proof/inclusion?index=&size=   RFC 9162 inclusion proof from the tiles (JSON, base64)
 *   POST <prefix>/cosignature                    a witness posts a checkpoint with its signature line
 *
 * No credential: the log is public to whoever can reach the control plane (it holds what the records
 * hold — put the prefix behind the admin network when records must stay private), and a co-signature
 * authenticates itself (cosignatures.ts). A malformed path is a 404, a malformed query a 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { WarrantError } from '../../core/errors.ts';
import { readBody, sendJson } from '../../sts/http/respond.ts';
import { OAuthError } from '../../sts/oauth-error.ts';
import { parseTilePath } from '../tiles/tile-path.ts';
import { addCosignatures } from './cosignatures.ts';
import { LogReader } from './log-reader.ts';

export interface TlogHttpOptions {
  /** Default `/ledger`. */
  readonly prefix?: string;
  readonly origin: string;
  /** Note verifier keys of the witnesses whose co-signatures are accepted. */
  readonly witnessKeys: readonly string[];
}

const MAX_COSIGNATURE_BODY = 64 * 1024;
const notFound = (what: string) =>
  new OAuthError('not_found', 'WARRANT_LEDGER_TILE_NOT_FOUND', `no such ${what}`);
const bad = (message: string) => new WarrantError('WARRANT_AUDIT_QUERY_INVALID', message);

/** An STS route extension serving the log of `pool` (its search_path is the ledger schema). */
export function tlogHttp(
  pool: pg.Pool,
  options: TlogHttpOptions,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> {
  const prefix = options.prefix ?? '/ledger';
  const reader = new LogReader(pool);
  return async (req, res, url) => {
    const path = url.pathname;
    if (!path.startsWith(`${prefix}/`)) return false;
    const rest = path.slice(prefix.length + 1);
    if (req.method === 'POST' && rest === 'cosignature') {
      const body = (await readBody(req, MAX_COSIGNATURE_BODY)).toString('utf8');
      const result = await addCosignatures(pool, body, options.witnessKeys, options.origin);
      sendJson(res, 200, { size: result.size, added: result.added });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (rest === 'checkpoint') {
      const cp = await reader.latestCheckpoint();
      if (!cp) throw notFound('checkpoint (the log is empty)');
      send(res, req, cp.note, 'text/plain; charset=utf-8', 'no-store');
      return true;
    }
    if (rest === 'proof/inclusion') {
      await inclusion(reader, url, res);
      return true;
    }
    if (!rest.startsWith('tile/')) return false;
    const tile = parseTilePath(rest.slice('tile/'.length));
    if (!tile) throw notFound('tile (malformed tile path)');
    const bytes =
      tile.level === null
        ? await reader.entryBundle(tile.index, tile.width)
        : await reader.tile(tile.level, tile.index, tile.width);
    if (!bytes) throw notFound('tile');
    // A full tile, or a partial one of a given width, never changes once it exists.
    send(res, req, bytes, 'application/octet-stream', 'public, max-age=31536000, immutable');
    return true;
  };
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  body: string | Uint8Array,
  type: string,
  cache: string,
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(200, {
    'content-type': type,
    'content-length': bytes.length,
    'cache-control': cache,
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

async function inclusion(reader: LogReader, url: URL, res: ServerResponse): Promise<void> {
  const index = count(url.searchParams.get('index'), 'index');
  const latest = await reader.latestCheckpoint();
  const sizeText = url.searchParams.get('size');
  const cp = sizeText === null ? latest : await reader.checkpointAt(count(sizeText, 'size'));
  if (!cp) throw notFound('checkpoint of that size');
  if (index >= cp.size) throw bad(`index ${index} is not covered by the checkpoint of size ${cp.size}`);
  const leaf = await reader.leafHash(index);
  if (!leaf) throw notFound('record');
  const proof = await reader.inclusionProof(index, cp.size);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  sendJson(res, 200, {
    index,
    size: cp.size,
    leafHash: b64(leaf),
    proof: proof.map(b64),
    checkpoint: cp.note,
  });
}

function count(text: string | null, name: string): number {
  if (text === null || !/^(?:0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw bad(`${name} must be a non-negative integer`);
  return Number(text);
}
