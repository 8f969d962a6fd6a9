import { verifyPersonAssertion } from '../../person-assertion.ts';
import { TOKEN_TYPE } from '../types.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';

/**
 * Root: the subject token is a person's ID token or ID-JAG from a trusted issuer, addressed to the caller
 * (see `verifyPersonAssertion`).
 */
export async function verifyPerson(
  ctx: Pick<ExchangeContext, 'subjectType' | 'subjectToken' | 'caller' | 'person'> & {
    readonly services: Pick<ExchangeServices, 'clock' | 'issuer' | 'trustedIssuers' | 'assertionReplay'>;
  },
): Promise<void> {
  const kind = ctx.subjectType === TOKEN_TYPE.idToken ? 'id_token' : 'id_jag';
  ctx.person = await verifyPersonAssertion(ctx.services, ctx.subjectToken, kind, ctx.caller);
}

/** Root, the last check before anything is written: an ID-JAG is spent now (a replay issues nothing). */
export async function spendAssertion(ctx: Pick<ExchangeContext, 'person'>): Promise<void> {
  await ctx.person.consume();
}
