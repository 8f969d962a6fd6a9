import { constraintKind, type Grant, patternMatches } from '../core/grants/index.ts';
import type { CatalogEntry } from '../guard/catalog.ts';
import type { ParameterReader } from './read-parameters.ts';

/** A value read from the call and checked against a constraint, as recorded (strings bounded). */
export type ParameterValue = number | string;

export type ConstraintCode =
  | 'WARRANT_PARAMETER_MISSING'
  | 'WARRANT_PARAMETER_INVALID'
  | 'WARRANT_CONSTRAINT_EXCEEDED'
  | 'WARRANT_CONSTRAINT_NOT_ALLOWED'
  | 'WARRANT_CONSTRAINT_UNENFORCEABLE';

export type ConstraintCheck =
  | { readonly ok: true; readonly values: Readonly<Record<string, ParameterValue>> }
  | {
      readonly ok: false;
      readonly code: ConstraintCode;
      readonly reason: string;
      /** The values read before the check failed. */
      readonly values: Readonly<Record<string, ParameterValue>>;
    };

/** Longest string value written into a record or a reason; longer ones are cut (and never match anyway). */
const MAX_RECORDED = 256;
/** A number as text (query parameter, header): plain decimal, no sign, exponent, spaces or leading zeros. */
const DECIMAL = /^(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,15})?$/;
const NONE: Readonly<Record<string, ParameterValue>> = Object.freeze({});

/** Whether a grant carries a constraint the call's values are checked against (anything but `data_class`). */
export function constrainsValues(grant: Grant): boolean {
  if (grant.constraints === undefined) return false;
  for (const key in grant.constraints) if (key !== 'data_class') return true;
  return false;
}

/**
 * Checks every value constraint of `grant` against the call (DESIGN §6): `max_<name>` bounds parameter
 * `<name>` (a non-negative number), an enumeration `<name>` lists the strings parameter `<name>` may take,
 * and `destination`, when the action declares such a parameter, lists the patterns it must match (the
 * resource is checked against it by grant coverage either way). `data_class` is the action's own class,
 * checked by coverage. A constraint whose parameter the catalog does not locate cannot be enforced, so
 * it denies — unless the catalog declares that the action carries no such value (`in: none`); a
 * parameter absent or unreadable denies. Deny by default, first failure wins.
 */
export function checkConstraints(
  grant: Grant,
  action: CatalogEntry,
  reader: ParameterReader,
): ConstraintCheck {
  const constraints = grant.constraints;
  if (constraints === undefined) return { ok: true, values: NONE };
  const values: Record<string, ParameterValue> = {};
  const fail = (code: ConstraintCode, reason: string): ConstraintCheck => ({
    ok: false,
    code,
    reason,
    values,
  });
  for (const key of Object.keys(constraints)) {
    const kind = constraintKind(key);
    if (kind === 'data_class') continue;
    const limit = constraints[key];
    const name = kind === 'maximum' ? key.slice(4) : key;
    const parameter = action.compiled.get(name);
    if (parameter === undefined) {
      if (kind === 'destination') continue;
      return fail(
        'WARRANT_CONSTRAINT_UNENFORCEABLE',
        `the grant constrains ${key}, but the catalog does not say where ${action.name} carries ${name}`,
      );
    }
    // The catalog says this action has no such value: the constraint bounds other actions of the grant.
    if (parameter.in === 'none') continue;
    const read = reader.read(parameter);
    if ('missing' in read) return fail('WARRANT_PARAMETER_MISSING', `parameter ${name}: ${read.missing}`);
    if ('invalid' in read) return fail('WARRANT_PARAMETER_INVALID', `parameter ${name}: ${read.invalid}`);
    if (kind === 'maximum') {
      const n = asNumber(read);
      if (typeof n === 'string') return fail('WARRANT_PARAMETER_INVALID', `parameter ${name} ${n}`);
      values[name] = n;
      if (n > (limit as number))
        return fail('WARRANT_CONSTRAINT_EXCEEDED', `parameter ${name} is ${n}, above ${key} ${limit}`);
      continue;
    }
    const s = asString(read);
    if (s === undefined) return fail('WARRANT_PARAMETER_INVALID', `parameter ${name} is not a string`);
    values[name] = bounded(s);
    const allowed = limit as readonly string[];
    const ok = kind === 'destination' ? allowed.some((d) => patternMatches(d, s)) : allowed.includes(s);
    if (!ok) {
      return fail(
        'WARRANT_CONSTRAINT_NOT_ALLOWED',
        `parameter ${name} is ${JSON.stringify(bounded(s, 64))}, not one of the ${key} the grant allows`,
      );
    }
  }
  return { ok: true, values };
}

/** The number a parameter holds, or why it holds none (a JSON string is not a number: no coercion). */
export function asNumber(read: { json: unknown } | { text: string }): number | string {
  if ('text' in read) return DECIMAL.test(read.text) ? Number(read.text) : 'is not a plain decimal number';
  const v = read.json;
  if (typeof v === 'string') return 'is a string, not a number';
  if (typeof v !== 'number') return 'is not a number';
  if (!Number.isFinite(v)) return 'is out of range'; // 1e400 parses as Infinity
  if (v < 0) return 'is negative';
  return v === 0 ? 0 : v;
}

function asString(read: { json: unknown } | { text: string }): string | undefined {
  if ('text' in read) return read.text;
  return typeof read.json === 'string' ? read.json : undefined;
}

function bounded(s: string, max = MAX_RECORDED): string {
  return (s.length > max ? `${s.slice(0, max)}…` : s).toWellFormed();
}
