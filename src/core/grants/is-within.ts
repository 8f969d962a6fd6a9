/**
 * Containment of grants (DESIGN §3: "requested grants ⊆ parent grants"). Conservative: anything malformed
 * or of an unknown kind is not within, and these functions never throw.
 */

import { type ConstraintValue, constraintKind, Invalid } from './constraint.ts';
import { dataClassRank } from './data-class.ts';
import { type Grant, readGrant } from './grant.ts';
import { patternWithin } from './pattern.ts';

/** Whether a (well-formed) child constraint value is within the parent's value for the same key. */
export function constraintWithin(key: string, child: ConstraintValue, parent: ConstraintValue): boolean {
  switch (constraintKind(key)) {
    case 'maximum':
      return typeof child === 'number' && typeof parent === 'number' && child <= parent;
    case 'data_class': {
      const c = dataClassRank(child);
      return c !== -1 && c <= dataClassRank(parent);
    }
    case 'destination':
      return (
        Array.isArray(child) &&
        Array.isArray(parent) &&
        child.every((c: string) => parent.some((p: string) => patternWithin(c, p)))
      );
    case 'enumeration': {
      if (!Array.isArray(child) || !Array.isArray(parent)) return false;
      const allowed = new Set<string>(parent);
      return child.every((c: string) => allowed.has(c));
    }
    case undefined:
      return false;
  }
}

/**
 * Whether `child` grants nothing that `parent` does not: action within, resource within, and every parent
 * constraint present in the child with a value within the parent's. Constraints only the child has narrow
 * further and are fine. Accepts unvalidated input: a malformed grant on either side is never within.
 */
export function isWithin(child: Grant, parent: Grant): boolean {
  try {
    const c = readGrant(child);
    const p = readGrant(parent);
    if (c instanceof Invalid || p instanceof Invalid) return false;
    if (!patternWithin(c.action, p.action) || !patternWithin(c.resource, p.resource)) return false;
    const pc = (p.constraints ?? {}) as Readonly<Record<string, ConstraintValue>>;
    const cc = (c.constraints ?? {}) as Readonly<Record<string, ConstraintValue>>;
    for (const key of Object.keys(pc)) {
      if (!Object.hasOwn(cc, key) || !constraintWithin(key, cc[key]!, pc[key]!)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Whether every child grant is within at least one parent grant. No children: true. Never throws. */
export function grantsWithin(children: readonly Grant[], parents: readonly Grant[]): boolean {
  try {
    if (!Array.isArray(children) || !Array.isArray(parents)) return false;
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (!parents.some((p: Grant) => isWithin(child, p))) return false;
    }
    return true;
  } catch {
    return false;
  }
}
