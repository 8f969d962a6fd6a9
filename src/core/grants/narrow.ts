/**
 * Narrowing (the meet of grant sets): what the STS issues when a holder asks for `requested` while holding
 * `held` (DESIGN §3, exchange). Every output grant is within some held grant and within a requested grant.
 */

import { GrantError } from '../errors.ts';
import { type ConstraintValue, constraintKind, Invalid } from './constraint.ts';
import { dataClassRank } from './data-class.ts';
import { type Grant, MAX_GRANTS, parseGrant, readGrant } from './grant.ts';
import { patternMeet, patternWithin } from './pattern.ts';

type ConstraintMap = Readonly<Record<string, ConstraintValue>>;

/** The tighter of two well-formed values of one constraint key, or `undefined` when they do not intersect. */
export function constraintMeet(
  key: string,
  a: ConstraintValue,
  b: ConstraintValue,
): ConstraintValue | undefined {
  switch (constraintKind(key)) {
    case 'maximum':
      return typeof a === 'number' && typeof b === 'number' ? Math.min(a, b) : undefined;
    case 'data_class': {
      const ra = dataClassRank(a);
      const rb = dataClassRank(b);
      return ra === -1 || rb === -1 ? undefined : ra <= rb ? a : b;
    }
    case 'destination': {
      if (!Array.isArray(a) || !Array.isArray(b)) return undefined;
      // Prefix patterns either nest or are disjoint, so the meet of two unions keeps, from both sides, every
      // pattern that lies within some pattern of the other side.
      const kept = new Set<string>();
      for (const x of a as readonly string[]) if (b.some((y: string) => patternWithin(x, y))) kept.add(x);
      for (const y of b as readonly string[]) if (a.some((x: string) => patternWithin(y, x))) kept.add(y);
      return kept.size === 0 ? undefined : [...kept];
    }
    case 'enumeration': {
      if (!Array.isArray(a) || !Array.isArray(b)) return undefined;
      const other = new Set<string>(b);
      const common = (a as readonly string[]).filter((x) => other.has(x));
      return common.length === 0 ? undefined : common;
    }
    case undefined:
      return undefined;
  }
}

/**
 * The intersection of two well-formed grants, or `undefined` when empty. Constraints on both sides take the
 * tighter value; a constraint on one side only is kept. Requested-side keys and values come first, so the
 * meet of a grant with itself is that grant.
 */
export function grantMeet(requested: Grant, held: Grant): Grant | undefined {
  const action = patternMeet(requested.action, held.action);
  if (action === undefined) return undefined;
  const resource = patternMeet(requested.resource, held.resource);
  if (resource === undefined) return undefined;
  if (requested.constraints === undefined && held.constraints === undefined)
    return parseGrant({ action, resource });
  const rc = (requested.constraints ?? {}) as ConstraintMap;
  const hc = (held.constraints ?? {}) as ConstraintMap;
  const constraints: Record<string, ConstraintValue> = {};
  for (const key of Object.keys(rc)) {
    if (Object.hasOwn(hc, key)) {
      const value = constraintMeet(key, rc[key]!, hc[key]!);
      if (value === undefined) return undefined;
      constraints[key] = value;
    } else {
      constraints[key] = rc[key]!;
    }
  }
  for (const key of Object.keys(hc)) if (!Object.hasOwn(rc, key)) constraints[key] = hc[key]!;
  return parseGrant({ action, resource, constraints });
}

/** A key equal for grants that grant the same thing in the same words (array order and `{}` ignored). */
function identity(grant: Grant): string {
  const c = (grant.constraints ?? {}) as ConstraintMap;
  const entries = Object.keys(c)
    .sort()
    .map((k) => {
      const v = c[k]!;
      return [k, Array.isArray(v) ? [...(v as readonly string[])].sort() : v];
    });
  return JSON.stringify([grant.action, grant.resource, entries]);
}

function requireGrants(value: readonly Grant[], name: string): Grant[] {
  if (!Array.isArray(value))
    throw new GrantError('WARRANT_GRANT_INVALID', `${name} must be an array of grants`);
  const out: Grant[] = [];
  for (let i = 0; i < value.length; i++) {
    const grant = readGrant(value[i], `${name}[${i}]`);
    if (grant instanceof Invalid) throw new GrantError('WARRANT_GRANT_INVALID', grant.reason);
    out.push(grant);
  }
  return out;
}

/**
 * The meet of `requested` and `held`: for every requested grant, its non-empty intersections with the held
 * grants; identical results are kept once. Throws GrantError `WARRANT_GRANT_NOT_HELD` when a requested grant
 * meets no held grant, and `WARRANT_GRANT_INVALID` when an input is malformed or the result would hold more
 * than 64 grants.
 */
export function narrow(requested: readonly Grant[], held: readonly Grant[]): Grant[] {
  const wanted = requireGrants(requested, 'requested');
  const have = requireGrants(held, 'held');
  const out: Grant[] = [];
  const seen = new Set<string>();
  for (const r of wanted) {
    let met = false;
    for (const h of have) {
      const m = grantMeet(r, h);
      if (m === undefined) continue;
      met = true;
      const id = identity(m);
      if (!seen.has(id)) {
        seen.add(id);
        out.push(m);
      }
    }
    if (!met) {
      throw new GrantError(
        'WARRANT_GRANT_NOT_HELD',
        `requested grant ${JSON.stringify(r.action)} on ${JSON.stringify(r.resource)} is not within the grants held`,
      );
    }
  }
  if (out.length > MAX_GRANTS) {
    throw new GrantError('WARRANT_GRANT_INVALID', `narrowed grants would exceed ${MAX_GRANTS} grants`);
  }
  return out;
}
