/** The parts of a node:http request a verifier reads (node:http, Express and Fastify share it). */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { PresentedRequest } from '../verify-presented.ts';

/**
 * Method, the URL as addressed (scheme from the socket, the `Host` header, the path) and every header
 * line (`headersDistinct`, so a repeated credential is seen and refused). Behind a TLS-terminating proxy
 * set the receiver's `publicUrl`: its origin replaces this one.
 */
export function nodeRequest(req: IncomingMessage): PresentedRequest {
  const scheme = (req.socket as TLSSocket).encrypted === true ? 'https' : 'http';
  const host = req.headers.host;
  const path = req.url ?? '/';
  return {
    method: req.method ?? 'GET',
    htu: host === undefined || host.length === 0 ? path : `${scheme}://${host}${path}`,
    headers: req.headersDistinct,
  };
}
