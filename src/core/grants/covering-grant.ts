import { type DataClass, dataClassRank } from './data-class.ts';
import type { Grant } from './grant.ts';
import { patternMatches } from './pattern.ts';

/** What coverage looks at in a call: the action's name and the data class it touches. */
export interface CoveredAction {
  readonly name: string;
  readonly dataClass: DataClass;
}

/**
 * Whether `grant` covers `action` on `resource`: its action and resource patterns match, the action's
 * data class is within the grant's `data_class` ceiling, and the resource is one of its `destination`
 * patterns. Value constraints (maxima, enumerations) are the call's parameters' business, not coverage's.
 */
export function grantCovers(grant: Grant, action: CoveredAction, resource: string): boolean {
  if (!patternMatches(grant.action, action.name) || !patternMatches(grant.resource, resource)) return false;
  const ceiling = grant.constraints?.['data_class'];
  if (ceiling !== undefined && dataClassRank(action.dataClass) > dataClassRank(ceiling)) return false;
  const destinations = grant.constraints?.['destination'];
  if (
    Array.isArray(destinations) &&
    !destinations.some((d) => typeof d === 'string' && patternMatches(d, resource))
  )
    return false;
  return true;
}

/** The first grant that covers `action` on `resource` (see {@link grantCovers}); undefined when none does. */
export function coveringGrant(
  grants: readonly Grant[],
  action: CoveredAction,
  resource: string,
): Grant | undefined {
  return grants.find((g) => grantCovers(g, action, resource));
}
