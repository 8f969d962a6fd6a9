/**
 * Express: `app.use(warrantExpress(receiver))`; handlers read `req.warrant` (a `WarrantContext`), or
 * `req.txnToken` behind a `TxnTokenReceiver`. Refusals are answered as the gateway answers them, and
 * the request goes no further.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Verifier, WarrantContext } from '../receiver.ts';
import { refusalAnswer } from '../refusal.ts';
import type { TxnTokenClaims } from '../txn-token.ts';
import { nodeRequest } from './request.ts';

declare global {
  namespace Express {
    interface Request {
      /** The verified caller (set by `warrantExpress` with a `WarrantReceiver`). */
      warrant?: WarrantContext;
      /** The verified Transaction Token (set by `warrantExpress` with a `TxnTokenReceiver`). */
      txnToken?: TxnTokenClaims;
    }
  }
}

export function warrantExpress(
  verifier: Verifier<WarrantContext> | Verifier<TxnTokenClaims>,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    (verifier as Verifier<unknown>).verify(nodeRequest(req)).then(
      (result) => {
        (req as unknown as Record<string, unknown>)[verifier.name] = result;
        next();
      },
      (error: unknown) => {
        const answer = refusalAnswer(error, verifier.resourceMetadata);
        res.writeHead(answer.status, answer.headers).end(answer.body);
      },
    );
  };
}
