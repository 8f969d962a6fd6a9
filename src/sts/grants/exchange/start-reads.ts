import { tokenHash } from '../../../core/jose/hash.ts';
import { parseCompact } from '../../../core/jose/jws.ts';
import type { AgentRecord, AgentStore, TokenStore } from '../../../store/ports.ts';
import type { ExchangeContext } from './context.ts';

/**
 * Reads the exchange will need, started before anything is verified (issue 13): on a store that answers
 * `agents.get` and `tokens.isRevoked` in one round trip (`Store.exchangeReads`, PostgreSQL), the calling
 * agent (the client assertion's `iss`) and the subject warrant's state are read together while the DPoP
 * proof is verified. Nothing is decided here: the checks that need these rows (client authentication,
 * `checkParentLive`) ask for them as before and get this answer only when they ask for the same key;
 * a malformed request starts nothing and is refused by those checks, with their codes.
 */
export function startReads(ctx: ExchangeContext): void {
  const reads = ctx.services.store.exchangeReads;
  if (reads === undefined) return;
  const assertion = ctx.params.get('client_assertion');
  const subject = ctx.params.get('subject_token');
  if (assertion === undefined || subject === undefined) return;
  let iss: unknown;
  try {
    iss = parseCompact(assertion).claims['iss'];
  } catch {
    return;
  }
  if (typeof iss !== 'string' || iss.length === 0) return;
  const hash = tokenHash(subject);
  const result = reads(iss, hash);
  // Whoever asks awaits it and sees its error; nobody asking is not an unhandled rejection.
  result.catch(() => {});
  ctx.reads = { agentId: iss, tokenHash: hash, result };
}

/** What `startReads` started, for one agent id and one token hash. */
export interface StartedReads {
  readonly agentId: string;
  readonly tokenHash: string;
  readonly result: Promise<{ agent: AgentRecord | null; revoked: boolean | null }>;
}

/** `agents.get`, answered by the started read when it is for the same agent. */
export function agentsWithReads(
  agents: AgentStore,
  reads: StartedReads | undefined,
): Pick<AgentStore, 'get'> {
  if (reads === undefined) return agents;
  return {
    get: (id) => (id === reads.agentId ? reads.result.then((r) => r.agent) : agents.get(id)),
  };
}

/** `tokens.isRevoked`, answered by the started read when it is for the same token. */
export function isRevokedWithReads(
  tokens: Pick<TokenStore, 'isRevoked'>,
  reads: StartedReads | undefined,
  hash: string,
): Promise<boolean | null> {
  return reads !== undefined && hash === reads.tokenHash
    ? reads.result.then((r) => r.revoked)
    : tokens.isRevoked(hash);
}
