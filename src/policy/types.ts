/**
 * The values a policy decision takes and returns (DESIGN §5). Request, entities and policies are separate
 * inputs; a decision is a value, deny by default.
 */

/** An entity reference: a namespaced type (`Warrant::Agent`) and an id (`spiffe://example.org/agent/a`). */
export interface EntityUid {
  readonly type: string;
  readonly id: string;
}

/**
 * A value in Cedar's JSON form: String, Long (a safe integer), Bool, Set (an array), Record (an object).
 * Two object shapes are escapes: `{__entity: {type, id}}` for an entity reference and
 * `{__extn: {fn, arg}}` for an extension value (`ip`, `decimal`, `datetime`, …).
 */
export type CedarValue =
  | string
  | number
  | boolean
  | readonly CedarValue[]
  | { readonly [key: string]: CedarValue };

/** One entity of the request's entity slice: its attributes and the entities it is a member of. */
export interface Entity {
  readonly uid: EntityUid;
  readonly attrs: Readonly<Record<string, CedarValue>>;
  readonly parents: readonly EntityUid[];
}

/** One question to the policy set. `entities` is the slice of the world this request needs, nothing more. */
export interface AuthorizationRequest {
  readonly principal: EntityUid;
  readonly action: EntityUid;
  readonly resource: EntityUid;
  readonly context: Readonly<Record<string, CedarValue>>;
  readonly entities: readonly Entity[];
}

export type DecisionEffect = 'allow' | 'deny';

/**
 * The answer, frozen. `reasons` are the ids of the determining policies (the permits of an allow, the
 * forbids of a deny; empty when nothing permits). `errors` are evaluation or request errors: any error
 * makes the decision a deny. `policyVersion` identifies the exact policy set and schema that decided.
 */
export interface Decision {
  readonly decision: DecisionEffect;
  readonly reasons: readonly string[];
  readonly errors: readonly string[];
  readonly policyVersion: string;
}
