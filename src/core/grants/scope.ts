/**
 * The flat OAuth `scope` (RFC 6749 §3.3) carried beside the structured grants for interoperability.
 */

import { GrantError } from '../errors.ts';
import { type Grant, MAX_GRANTS, parseGrant } from './grant.ts';
import { isActionPattern, isResourcePattern } from './pattern.ts';

/** RFC 6749: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** The distinct actions of `grants`, in order of first appearance, joined by single spaces. */
export function scopeOf(grants: readonly Grant[]): string {
  const actions = new Set<string>();
  for (const grant of grants) {
    if (!isActionPattern(grant.action))
      throw new GrantError('WARRANT_GRANT_INVALID', 'a grant action is malformed');
    actions.add(grant.action);
  }
  return [...actions].join(' ');
}

/**
 * One grant `{action: token, resource}` per distinct token of a space-separated scope (an empty scope gives
 * none). Tokens must be RFC 6749 scope-tokens within the action charset; separators are single spaces.
 * Throws GrantError `WARRANT_GRANT_INVALID`.
 */
export function grantsFromScope(scope: string, resource = '*'): Grant[] {
  if (typeof scope !== 'string') throw new GrantError('WARRANT_GRANT_INVALID', 'scope must be a string');
  if (!isResourcePattern(resource))
    throw new GrantError('WARRANT_GRANT_INVALID', 'resource is not a valid pattern');
  if (scope === '') return [];
  const tokens = new Set<string>();
  for (const token of scope.split(' ')) {
    if (!SCOPE_TOKEN.test(token)) {
      throw new GrantError('WARRANT_GRANT_INVALID', 'scope must be scope-tokens separated by single spaces');
    }
    if (!isActionPattern(token))
      throw new GrantError('WARRANT_GRANT_INVALID', 'a scope token is not a valid action');
    tokens.add(token);
  }
  if (tokens.size > MAX_GRANTS) {
    throw new GrantError('WARRANT_GRANT_INVALID', `scope holds more than ${MAX_GRANTS} tokens`);
  }
  return [...tokens].map((action) => parseGrant({ action, resource }));
}
