import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody as readLimitedBody } from '../../http/body.ts';
import { OAuthError } from '../oauth-error.ts';

const BASE_HEADERS = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...BASE_HEADERS, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: OAuthError): void {
  const headers: Record<string, string> = { ...error.headers };
  if (error.status === 401 && headers['www-authenticate'] === undefined) {
    headers['www-authenticate'] = `Bearer error="${error.error}"`;
  }
  sendJson(res, error.status, error.body(), headers);
}

/** Reads a request body up to `limit` bytes; larger bodies are refused (413) without being buffered whole. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await readLimitedBody(
      req,
      limit,
      () =>
        new OAuthError(
          'invalid_request',
          'WARRANT_REQUEST_MALFORMED',
          `the body is larger than ${limit} bytes`,
          {
            status: 413,
          },
        ),
    );
  } catch (error) {
    req.resume();
    throw error;
  }
}
