import { scopeOf } from '../../../core/grants/index.ts';
import type { WarrantClaims } from '../../../core/tokens/index.ts';
import { TOKEN_TYPE, type TokenResponse } from '../types.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';

type MintContext = Pick<
  ExchangeContext,
  'caller' | 'audience' | 'proof' | 'grants' | 'task' | 'mayDelegate' | 'now' | 'iat' | 'exp' | 'response'
>;

function respond(token: string, claims: WarrantClaims, now: number): TokenResponse {
  return {
    access_token: token,
    token_type: 'DPoP',
    expires_in: claims.exp - now,
    issued_token_type: TOKEN_TYPE.warrant,
    scope: claims.scope,
  };
}

/** Root: signs and records the person's warrant for the caller, the first link of a new transaction. */
export async function mintRoot(
  ctx: MintContext &
    Pick<ExchangeContext, 'person'> & {
      readonly services: Pick<ExchangeServices, 'mintWarrant' | 'newTxn' | 'config'>;
    },
): Promise<void> {
  const { services, person, caller, task } = ctx;
  const { token, claims } = await services.mintWarrant(
    {
      sub: person.sub,
      sub_iss: person.issuer,
      act: { sub: caller.id },
      aud: ctx.audience,
      scope: scopeOf(ctx.grants),
      grants: ctx.grants,
      txn: services.newTxn(),
      ...(task === undefined ? {} : { task }),
      depth: 0,
      max_depth: Math.min(services.config.sts.maxDepth, caller.maxDepth),
      may_delegate: ctx.mayDelegate,
      cnf: { jkt: ctx.proof.jkt },
      iat: ctx.iat,
      exp: ctx.exp,
    },
    null,
  );
  ctx.response = respond(token, claims, ctx.now);
}

/** Hop: signs and records the child, bound to the caller's key and hash-linked to its parent. */
export async function mintHop(
  ctx: MintContext &
    Pick<ExchangeContext, 'parent'> & { readonly services: Pick<ExchangeServices, 'mintWarrant'> },
): Promise<void> {
  const { parent, task } = ctx;
  const p = parent.claims;
  const { token, claims } = await ctx.services.mintWarrant(
    {
      sub: p.sub,
      sub_iss: p.sub_iss,
      act: { sub: ctx.caller.id, act: p.act },
      aud: ctx.audience,
      scope: scopeOf(ctx.grants),
      grants: ctx.grants,
      txn: p.txn,
      ...(task === undefined ? {} : { task }),
      prev: parent.hash,
      root: p.root ?? parent.hash,
      depth: p.depth + 1,
      max_depth: p.max_depth,
      may_delegate: ctx.mayDelegate,
      cnf: { jkt: ctx.proof.jkt },
      iat: ctx.iat,
      exp: ctx.exp,
    },
    parent.hash,
  );
  ctx.response = respond(token, claims, ctx.now);
}
