/**
 * Constraint kinds (DESIGN §3). The kind of a constraint is decided by its key and the shape of its value;
 * anything that does not fit one of the kinds below is malformed.
 *
 * | kind          | key                              | value                                              |
 * |---------------|----------------------------------|----------------------------------------------------|
 * | `maximum`     | `max_[a-z0-9_]+`                 | finite number ≥ 0                                  |
 * | `data_class`  | `data_class`                     | one of {@link DATA_CLASSES}                        |
 * | `destination` | `destination`                    | non-empty array of distinct resource patterns      |
 * | `enumeration` | any other `[a-z][a-z0-9_]*`      | non-empty array of distinct non-empty strings      |
 */

import { DATA_CLASSES, dataClassRank } from './data-class.ts';
import { isResourcePattern } from './pattern.ts';

export type ConstraintKind = 'maximum' | 'data_class' | 'destination' | 'enumeration';

export const MAX_CONSTRAINTS = 32;
export const MAX_CONSTRAINT_KEY_LENGTH = 64;
export const MAX_LIST_ITEMS = 64;
export const MAX_ENUM_VALUE_LENGTH = 256;

const MAXIMUM_KEY = /^max_[a-z0-9_]+$/;
const ENUMERATION_KEY = /^[a-z][a-z0-9_]*$/;

/** The kind a key denotes, or `undefined` for a malformed key. Keys starting with `max_` are reserved for maxima. */
export function constraintKind(key: string): ConstraintKind | undefined {
  if (key.length === 0 || key.length > MAX_CONSTRAINT_KEY_LENGTH) return undefined;
  if (key === 'data_class') return 'data_class';
  if (key === 'destination') return 'destination';
  if (key.startsWith('max_')) return MAXIMUM_KEY.test(key) ? 'maximum' : undefined;
  return ENUMERATION_KEY.test(key) ? 'enumeration' : undefined;
}

/** A well-formed constraint value. */
export type ConstraintValue = number | string | readonly string[];

/** Why a value failed validation (the reason only, never the value). */
export class Invalid {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

const problem = (reason: string): Invalid => new Invalid(reason);

function readList(value: unknown, item: (v: unknown) => boolean, what: string): readonly string[] | Invalid {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LIST_ITEMS) {
    return problem(`must be a non-empty array of at most ${MAX_LIST_ITEMS} items`);
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (!item(v)) return problem(`[${i}] is not ${what}`);
    const s = v as string;
    if (seen.has(s)) return problem(`[${i}] is a duplicate`);
    seen.add(s);
    out.push(s);
  }
  return Object.freeze(out);
}

const isEnumValue = (v: unknown): boolean =>
  typeof v === 'string' && v.length >= 1 && v.length <= MAX_ENUM_VALUE_LENGTH;

/**
 * Validates one constraint and returns a frozen copy of its value, or {@link Invalid}. Never throws for
 * ordinary values (a throwing getter or proxy inside an array may still throw; callers guard for that).
 */
export function readConstraint(key: string, value: unknown): ConstraintValue | Invalid {
  switch (constraintKind(key)) {
    case 'maximum':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        return problem('must be a finite number >= 0');
      }
      return value === 0 ? 0 : value; // folds -0
    case 'data_class':
      return dataClassRank(value) === -1
        ? problem(`must be one of ${DATA_CLASSES.join(', ')}`)
        : (value as string);
    case 'destination':
      return readList(value, isResourcePattern, 'a resource pattern');
    case 'enumeration':
      return readList(value, isEnumValue, `a string of 1..${MAX_ENUM_VALUE_LENGTH} characters`);
    case undefined:
      return problem('is not a known constraint kind (max_*, data_class, destination or an enumeration)');
  }
}
