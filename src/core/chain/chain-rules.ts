/**
 * The DESIGN §3 rules between the links of a chain, pure (no crypto, no node built-ins): the Node verifier
 * (verify-chain.ts) and the runtime-neutral one (src/verify/neutral) apply the very same ones.
 */
import { ChainError } from '../errors.ts';
import { grantsWithin, patternWithin } from '../grants/index.ts';
import type { Actor, MayDelegate, WarrantClaims } from '../tokens/claims.ts';

function sameActor(a: Actor | undefined, b: Actor | undefined): boolean {
  for (;;) {
    if (a === undefined || b === undefined) return a === b;
    if (a.sub !== b.sub) return false;
    a = a.act;
    b = b.act;
  }
}

export function actorList(act: Actor): string[] {
  const out: string[] = [];
  for (let a: Actor | undefined = act; a; a = a.act) out.push(a.sub);
  return out.reverse();
}

function permitsAudience(may: MayDelegate, aud: string): boolean {
  return may !== false && may.aud.some((pattern) => patternWithin(aud, pattern));
}

function mayDelegateWithin(child: MayDelegate, parent: MayDelegate): boolean {
  if (child === false) return true;
  if (parent === false) return false;
  if (!child.aud.every((c) => parent.aud.some((p) => patternWithin(c, p)))) return false;
  if (parent.tiers === undefined) return true;
  return child.tiers?.every((t) => parent.tiers!.includes(t)) ?? false;
}

/**
 * The DESIGN §3 rules between a link and the one before it. Throws a ChainError naming the child link.
 * `crossing`: the child is this deployment's first link after a trusted peer's (DESIGN §11), so its `iss`
 * differs; every other rule holds across the boundary as within a deployment.
 */
export function checkLink(
  parent: { readonly hash: string; readonly claims: WarrantClaims },
  child: { readonly claims: WarrantClaims },
  rootHash: string,
  index: number,
  crossing = false,
): void {
  const p: WarrantClaims = parent.claims;
  const c: WarrantClaims = child.claims;
  if (c.prev !== parent.hash)
    throw new ChainError('WARRANT_CHAIN_LINK_BROKEN', index, 'prev is not the hash of the link before');
  if (c.root !== rootHash)
    throw new ChainError('WARRANT_CHAIN_LINK_BROKEN', index, 'root is not the hash of the root warrant');
  if ((!crossing && c.iss !== p.iss) || c.txn !== p.txn || c.sub !== p.sub || c.sub_iss !== p.sub_iss) {
    throw new ChainError('WARRANT_CHAIN_CONTEXT_MISMATCH', index);
  }
  if (c.depth !== p.depth + 1)
    throw new ChainError('WARRANT_CHAIN_DEPTH_EXCEEDED', index, 'depth does not count up by one');
  if (c.max_depth > p.max_depth)
    throw new ChainError('WARRANT_CHAIN_DEPTH_EXCEEDED', index, 'max_depth grew');
  if (c.depth > p.max_depth) throw new ChainError('WARRANT_CHAIN_DEPTH_EXCEEDED', index);
  if (c.act.sub !== p.aud)
    throw new ChainError(
      'WARRANT_CHAIN_ACTOR_MISMATCH',
      index,
      'actor is not the audience of the link before',
    );
  if (!sameActor(c.act.act, p.act))
    throw new ChainError('WARRANT_CHAIN_ACTOR_MISMATCH', index, 'actor history was rewritten');
  if (!permitsAudience(p.may_delegate, c.aud))
    throw new ChainError('WARRANT_CHAIN_DELEGATION_FORBIDDEN', index);
  if (!mayDelegateWithin(c.may_delegate, p.may_delegate)) {
    throw new ChainError('WARRANT_CHAIN_DELEGATION_FORBIDDEN', index, 'may_delegate widened');
  }
  if (!grantsWithin(c.grants, p.grants)) throw new ChainError('WARRANT_CHAIN_GRANT_WIDENED', index);
  if (c.exp > p.exp)
    throw new ChainError('WARRANT_CHAIN_LIFETIME_EXTENDED', index, 'exp is later than the link before');
  if (c.iat < p.iat)
    throw new ChainError('WARRANT_CHAIN_LIFETIME_EXTENDED', index, 'issued before the link before');
}
