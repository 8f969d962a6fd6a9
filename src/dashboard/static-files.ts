/**
 * The built front-end (dashboard/, built by `npm install` into dist/dashboard/): `/ui/assets/*` are the
 * hashed files Vite wrote (cached for a year), every other page path answers index.html (the pages route
 * in the browser). Nothing is loaded from elsewhere at run time. Paths are resolved inside the folder only.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { securityHeaders } from './security-headers.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Answers a static file; `false` when there is none by that name (or it is outside the folder). */
export function sendAsset(res: ServerResponse, assetsDir: string, relative: string): boolean {
  const path = normalize(join(assetsDir, relative));
  if (!path.startsWith(assetsDir + sep)) return false;
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  const type = TYPES[extname(path)];
  if (type === undefined) return false;
  const body = readFileSync(path);
  res.writeHead(200, {
    ...securityHeaders(),
    'content-type': type,
    'content-length': body.length,
    'cache-control': relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-store',
  });
  res.end(body);
  return true;
}

/** The page shell. When the front-end was not built, a plain page saying how to build it. */
export function sendIndex(res: ServerResponse, assetsDir: string): void {
  if (sendAsset(res, assetsDir, 'index.html')) return;
  const body =
    '<!doctype html><meta charset="utf-8"><title>Warrant dashboard</title>' +
    '<p>The dashboard is not built: run <code>npm run build:dashboard</code> (npm install does it).</p>';
  res.writeHead(503, {
    ...securityHeaders(),
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(body);
}
