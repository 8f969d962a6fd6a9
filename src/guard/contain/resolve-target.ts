/**
 * What a selector reaches in the STS (DESIGN §4): the revocation selector, and the live warrants it would
 * revoke (the selected ones and every descendant). A selector that names nothing the STS or the ledger
 * knows is an unknown target: contain says so and changes nothing.
 */
import type { AuditSource } from '../../ledger/audit/source.ts';
import type { IssuedToken, RevokeSelector } from '../../store/ports.ts';
import type { Sts } from '../../sts/sts.ts';
import type { ContainSelector } from './types.ts';

export interface ResolvedTarget {
  readonly selector: ContainSelector;
  readonly revoke: RevokeSelector;
  /** Live (unrevoked, unexpired) warrants the revocation reaches. */
  readonly live: readonly IssuedToken[];
  /** The selected warrant, for `warrant`. */
  readonly token?: IssuedToken;
  /** Whether anything is known under this selector (tokens, an agent, ledger records). */
  readonly known: boolean;
}

export async function resolveTarget(
  sts: Sts,
  selector: ContainSelector,
  ledger: AuditSource | null,
): Promise<ResolvedTarget> {
  const now = sts.clock();
  const live = (t: IssuedToken) => t.revokedAt === null && t.exp > now;
  const tokens = sts.store.tokens;
  if ('warrant' in selector) {
    const token = await tokens.get(selector.warrant);
    if (token === null) return { selector, revoke: { hash: selector.warrant }, live: [], known: false };
    const reached = [token, ...(await tokens.descendants(token.hash))].filter(live);
    return { selector, revoke: { hash: token.hash }, live: reached, token, known: true };
  }
  if ('txn' in selector) {
    const all = await tokens.listByTxn(selector.txn);
    const recorded =
      ledger !== null && (await ledger.query({ txn: selector.txn, limit: 1 })).items.length > 0;
    return {
      selector,
      revoke: { txn: selector.txn },
      live: all.filter(live),
      known: all.length > 0 || recorded,
    };
  }
  if ('agent' in selector) {
    const agent = await sts.store.agents.get(selector.agent);
    const reached = (await tokens.listLive(now)).filter((t) => t.actors.includes(selector.agent));
    return { selector, revoke: { agentId: selector.agent }, live: reached, known: agent !== null };
  }
  const reached = (await tokens.listLive(now)).filter((t) => t.sub === selector.person);
  const recorded =
    ledger !== null && (await ledger.query({ person: selector.person, limit: 1 })).items.length > 0;
  return {
    selector,
    revoke: { sub: selector.person },
    live: reached,
    known: reached.length > 0 || recorded,
  };
}
