/**
 * node:http: `withWarrant(receiver, handler)` wraps a request handler; the handler runs only for a
 * verified caller, found at `req.warrant` (or `req.txnToken` for a `TxnTokenReceiver`). Refusals are
 * answered as the gateway answers them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Verifier } from '../receiver.ts';
import { refusalAnswer } from '../refusal.ts';
import { nodeRequest } from './request.ts';

export type VerifiedRequest<T> = IncomingMessage & { warrant?: T; txnToken?: T };

/**
 * Verifies `req`; resolves the result, or answers the refusal on `res` and resolves `undefined`.
 */
export async function verifyNodeRequest<T>(
  verifier: Verifier<T>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<T | undefined> {
  try {
    return await verifier.verify(nodeRequest(req));
  } catch (error) {
    const answer = refusalAnswer(error, verifier.resourceMetadata);
    res.writeHead(answer.status, answer.headers).end(answer.body);
    return undefined;
  }
}

/** A node:http handler that runs `handler` only for verified callers. */
export function withWarrant<T>(
  verifier: Verifier<T>,
  handler: (req: VerifiedRequest<T>, res: ServerResponse) => void | Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const result = await verifyNodeRequest(verifier, req, res);
      if (result === undefined) return;
      (req as VerifiedRequest<T>)[verifier.name] = result;
      await handler(req as VerifiedRequest<T>, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
