import { checkMayAct } from '../../person-assertion.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';

/** Hop, RFC 8693 §4.4: a warrant that names who may act on it is exchanged by that party only. */
export function checkParentMayAct(
  ctx: Pick<ExchangeContext, 'parent' | 'caller'> & { readonly services: Pick<ExchangeServices, 'issuer'> },
): void {
  checkMayAct(ctx.parent.claims.may_act, ctx.caller, ctx.services.issuer);
}
