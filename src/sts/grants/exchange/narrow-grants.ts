import { WarrantError } from '../../../core/errors.ts';
import {
  type Grant,
  grantsFromScope,
  grantsWithin,
  narrow,
  parseGrants,
  patternWithin,
} from '../../../core/grants/index.ts';
import { fromWarrantError, OAuthError } from '../../oauth-error.ts';
import type { ExchangeContext } from './context.ts';
import { requestedGrants } from './request-params.ts';

const notHeld = (description: string) =>
  new OAuthError('invalid_scope', 'WARRANT_GRANT_NOT_HELD', description);

/**
 * Hop: the grants asked for (`authorization_details`, else `scope`, else all the parent's) — never more
 * than the parent holds.
 */
export function narrowGrants(ctx: Pick<ExchangeContext, 'params' | 'parent' | 'grants'>): void {
  const held = ctx.parent.claims.grants;
  const { explicit, scope } = requestedGrants(ctx.params);
  if (explicit !== undefined) {
    if (!grantsWithin(explicit, held))
      throw notHeld('the requested grants are not within the subject warrant grants');
    ctx.grants = explicit;
  } else if (scope !== undefined) {
    try {
      ctx.grants = narrow(grantsFromScope(scope), held);
    } catch (error) {
      if (error instanceof WarrantError) throw fromWarrantError(error, 'invalid_scope');
      throw error;
    }
  } else {
    ctx.grants = [...held];
  }
}

/**
 * Root: the grants asked for. An ID-JAG bounds them — each action within its `scope`, the grants within its
 * `authorization_details`, when it names them; with none asked for, its `authorization_details` (else its
 * `scope`) are the request. Nothing asked and nothing granted is refused.
 */
export function rootGrants(ctx: Pick<ExchangeContext, 'params' | 'person' | 'grants'>): void {
  const { params, person } = ctx;
  const { explicit, scope } = requestedGrants(params);
  const asked = scope ?? (explicit === undefined && person.grants === undefined ? person.scope : undefined);
  const grants: Grant[] =
    explicit ??
    (asked === undefined
      ? [...(person.grants ?? [])]
      : parseGrants(grantsFromScope(asked, params.get('grant_resource') ?? '*')));
  if (grants.length === 0) throw notHeld('request grants with authorization_details or scope');
  if (person.scope !== undefined) {
    const granted = person.scope.split(' ').filter(Boolean);
    if (!grants.every((g) => granted.some((token) => patternWithin(g.action, token))))
      throw notHeld('the requested grants are not within the scope the ID-JAG grants');
  }
  if (person.grants !== undefined && !grantsWithin(grants, person.grants))
    throw notHeld('the requested grants are not within the authorization_details the ID-JAG grants');
  ctx.grants = grants;
}
