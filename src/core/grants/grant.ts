/**
 * Grants (DESIGN §3, the `grants` claim): `{action, resource, constraints?}` in the spirit of RFC 9396.
 * Parsing is strict and returns frozen deep copies; see `constraint.ts` for the constraint kinds.
 */

import { GrantError } from '../errors.ts';
import { type ConstraintValue, Invalid, MAX_CONSTRAINTS, readConstraint } from './constraint.ts';
import { isActionPattern, isResourcePattern, MAX_ACTION_LENGTH, MAX_RESOURCE_LENGTH } from './pattern.ts';

export type Constraints = Readonly<Record<string, unknown>>;

export interface Grant {
  /** Action pattern, e.g. `crm:read` or `crm:*`. */
  readonly action: string;
  /** Resource pattern, e.g. `crm/contacts/42` or `crm/*`. */
  readonly resource: string;
  /** Narrowing constraints; every one of them must be kept (or tightened) by a delegated grant. */
  readonly constraints?: Constraints;
}

/** At most this many grants in one `grants` claim. */
export const MAX_GRANTS = 64;

const GRANT_MEMBERS: ReadonlySet<string> = new Set(['action', 'resource', 'constraints']);

/** Grants this module produced (validated and deeply frozen): they need no second validation. */
const VALIDATED = new WeakSet<object>();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function readConstraints(value: unknown, path: string): Constraints | Invalid {
  if (!isPlainObject(value)) return new Invalid(`${path} must be an object`);
  const keys = Object.keys(value);
  if (keys.length > MAX_CONSTRAINTS) return new Invalid(`${path} has more than ${MAX_CONSTRAINTS} members`);
  const out: Record<string, ConstraintValue> = {};
  for (const key of keys) {
    const v = readConstraint(key, value[key]);
    if (v instanceof Invalid) {
      const name = /^[a-z0-9_]{1,64}$/.test(key) ? key : '(invalid key)';
      return new Invalid(`${path}.${name} ${v.reason}`);
    }
    out[key] = v;
  }
  return Object.freeze(out);
}

function readGrantUnguarded(value: unknown, path: string): Grant | Invalid {
  if (VALIDATED.has(value as object)) return value as Grant;
  if (!isPlainObject(value)) return new Invalid(`${path} must be an object`);
  if (Object.keys(value).some((k) => !GRANT_MEMBERS.has(k))) {
    return new Invalid(`${path} has a member other than action, resource and constraints`);
  }
  const { action, resource } = value;
  if (!isActionPattern(action)) {
    return new Invalid(
      `${path}.action must be 1..${MAX_ACTION_LENGTH} characters of [A-Za-z0-9_.:/-] with an optional trailing *`,
    );
  }
  if (!isResourcePattern(resource)) {
    return new Invalid(
      `${path}.resource must be 1..${MAX_RESOURCE_LENGTH} printable ASCII characters without space, * only at the end`,
    );
  }
  let grant: Grant;
  if (value['constraints'] === undefined) {
    grant = Object.freeze({ action, resource });
  } else {
    const constraints = readConstraints(value['constraints'], `${path}.constraints`);
    if (constraints instanceof Invalid) return constraints;
    grant = Object.freeze({ action, resource, constraints });
  }
  VALIDATED.add(grant);
  return grant;
}

/** Validates and deep-copies one grant; never throws (a throwing getter or proxy makes it {@link Invalid}). */
export function readGrant(value: unknown, path = 'grant'): Grant | Invalid {
  try {
    return readGrantUnguarded(value, path);
  } catch {
    return new Invalid(`${path} is unreadable`);
  }
}

/** Whether `value` is a well-formed grant. Never throws. */
export function isValidGrant(value: unknown): value is Grant {
  return !(readGrant(value) instanceof Invalid);
}

/** Strictly validates one grant and returns a frozen deep copy. Throws GrantError `WARRANT_GRANT_INVALID`. */
export function parseGrant(value: unknown): Grant {
  const grant = readGrant(value);
  if (grant instanceof Invalid) throw new GrantError('WARRANT_GRANT_INVALID', grant.reason);
  return grant;
}

/**
 * Strictly validates a `grants` claim: an array of 0..64 grants. Returns a new array of frozen deep copies.
 * Throws GrantError `WARRANT_GRANT_INVALID`.
 */
export function parseGrants(value: unknown): Grant[] {
  if (!Array.isArray(value)) throw new GrantError('WARRANT_GRANT_INVALID', 'grants must be an array');
  if (value.length > MAX_GRANTS) {
    throw new GrantError('WARRANT_GRANT_INVALID', `grants must hold at most ${MAX_GRANTS} grants`);
  }
  const out: Grant[] = [];
  for (let i = 0; i < value.length; i++) {
    const grant = readGrant(value[i], `grants[${i}]`);
    if (grant instanceof Invalid) throw new GrantError('WARRANT_GRANT_INVALID', grant.reason);
    out.push(grant);
  }
  return out;
}
