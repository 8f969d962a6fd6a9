/**
 * The receiver verifier (`warrant/verify`, DESIGN §10; docs/verify.md): what any recipient of a warrant
 * checks — the DPoP proof, the warrant or its whole chain, revocation status — with the STS's keys and
 * revocation data as a remote recipient sees them, and the gateway's Transaction Token for an upstream
 * behind it. It never depends on the gateway's request path: the gateway is one user of these steps, your
 * service another (its refusals are answered with the gateway's own error writer).
 *
 * - `WarrantReceiver.start({issuer, audience, …})` → `receiver.verify(request)` → `WarrantContext`
 * - `TxnTokenReceiver.start({gateway, audience})` → `receiver.verify(request)` → `TxnTokenClaims`
 * - adapters: `withWarrant` (node:http), `warrantExpress`, `warrantFastify`, `warrantHono`
 * - lower level: `verifyPresented`, `verifyTxnToken`, `RemoteKeys`, `RevocationView`, `refusalAnswer`
 * - `neutral`: the same verification on WebCrypto for browsers and edge runtimes; import
 *   `src/verify/neutral/index.ts` (`warrant/verify/neutral`) directly there, it reaches no node built-in.
 */
export {
  type CoveredAction,
  coveringGrant,
  type Grant,
  grantCovers,
} from '../core/grants/index.ts';
export * from './middleware/express.ts';
export * from './middleware/fastify.ts';
export * from './middleware/hono.ts';
export * from './middleware/node.ts';
export * from './middleware/request.ts';
export * as neutral from './neutral/index.ts';
export * from './receiver.ts';
export * from './refusal.ts';
export * from './remote-keys.ts';
export * from './revocation-view.ts';
export * from './txn-token.ts';
export * from './verify-presented.ts';
