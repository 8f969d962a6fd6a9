import type { ExchangeContext, ExchangeServices } from './context.ts';

/** The request's DPoP proof, for the token endpoint: every warrant is bound to the key that signed it. */
export async function verifyDpop(
  ctx: Pick<ExchangeContext, 'dpop' | 'proof'> & {
    readonly services: Pick<ExchangeServices, 'dpop' | 'tokenEndpoint'>;
  },
): Promise<void> {
  ctx.proof = await ctx.services.dpop(ctx.dpop, ctx.services.tokenEndpoint);
}
