/**
 * Action and resource patterns (DESIGN §3): an exact string, or a prefix pattern ending in a single
 * trailing `*` that matches every string starting with the prefix (`*` alone matches everything).
 * A `*` anywhere but at the end is malformed.
 */

export const MAX_ACTION_LENGTH = 200;
export const MAX_RESOURCE_LENGTH = 2048;

const ACTION = /^[A-Za-z0-9_.:/-]*\*?$/;
/** Printable ASCII without space (0x21–0x7e); `*` (0x2a) only as the last character. */
const RESOURCE = /^[\x21-\x29\x2b-\x7e]*\*?$/;

/** A well-formed action pattern: `[A-Za-z0-9_.:/-]` plus an optional trailing `*`, 1..200 characters. */
export function isActionPattern(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length >= 1 && value.length <= MAX_ACTION_LENGTH && ACTION.test(value)
  );
}

/** A well-formed resource pattern: printable ASCII without space, optional trailing `*`, 1..2048 characters. */
export function isResourcePattern(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= MAX_RESOURCE_LENGTH &&
    RESOURCE.test(value)
  );
}

/** Structurally a pattern: a non-empty string whose only `*`, if any, is the last character (no charset check). */
export function isPattern(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  const star = value.indexOf('*');
  return star === -1 || star === value.length - 1;
}

/** Whether `value` (a concrete string) is matched by `pattern`. A malformed pattern matches nothing. */
export function patternMatches(pattern: string, value: string): boolean {
  if (!isPattern(pattern) || typeof value !== 'string') return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/**
 * Containment: every string matched by `child` is matched by `parent`. Works on any structurally valid
 * patterns (also audience patterns); a malformed pattern on either side is never within.
 */
export function patternWithin(child: string, parent: string): boolean {
  if (!isPattern(child) || !isPattern(parent)) return false;
  if (!parent.endsWith('*')) return child === parent;
  const prefix = parent.slice(0, -1);
  return (child.endsWith('*') ? child.slice(0, -1) : child).startsWith(prefix);
}

/**
 * The intersection of two patterns, which is itself a pattern: the more specific one when one contains the
 * other, else `undefined` (two prefix patterns either nest or match disjoint sets).
 */
export function patternMeet(a: string, b: string): string | undefined {
  if (patternWithin(a, b)) return a;
  if (patternWithin(b, a)) return b;
  return undefined;
}
