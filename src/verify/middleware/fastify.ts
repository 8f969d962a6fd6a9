/**
 * Fastify: `app.addHook('onRequest', warrantFastify(receiver))`; handlers read `request.warrant` (a
 * `WarrantContext`), or `request.txnToken` behind a `TxnTokenReceiver`. Refusals are answered as the
 * gateway answers them, and the route handler never runs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Verifier, WarrantContext } from '../receiver.ts';
import { refusalAnswer } from '../refusal.ts';
import type { TxnTokenClaims } from '../txn-token.ts';
import { nodeRequest } from './request.ts';

declare module 'fastify' {
  interface FastifyRequest {
    warrant?: WarrantContext;
    txnToken?: TxnTokenClaims;
  }
}

export function warrantFastify(
  verifier: Verifier<WarrantContext> | Verifier<TxnTokenClaims>,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    try {
      const result = await (verifier as Verifier<unknown>).verify(nodeRequest(request.raw));
      (request as unknown as Record<string, unknown>)[verifier.name] = result;
    } catch (error) {
      const { status, headers, body } = refusalAnswer(error, verifier.resourceMetadata);
      const { 'content-length': _length, ...rest } = headers;
      await reply.code(status).headers(rest).send(body);
    }
  };
}
