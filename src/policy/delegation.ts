/**
 * "May this delegation happen?" — the STS's question at token exchange (DESIGN §3, §5).
 *
 * Cedar is asked once per requested grant:
 *   principal = the delegator (`Warrant::Person` or `Warrant::Agent`),
 *   action    = `Warrant::Action::"delegate"`,
 *   resource  = the recipient (`Warrant::Agent` or `Warrant::Resource`),
 *   context   = the grant and the chain facts (`DelegationContext` in policies/schema.cedarschema).
 * The delegation is allowed only if every grant is; no grants is a deny. Grant narrowing (requested ⊆ held)
 * is the STS's check before this one: policy decides who may hand what to whom.
 */
import { DATA_CLASS_RANK, type DataClass } from '../core/grants/index.ts';
import type { DecisionCache } from './decision-cache.ts';
import type { PolicySet } from './policy-set.ts';
import type {
  AuthorizationRequest,
  CedarValue,
  Decision,
  DecisionEffect,
  Entity,
  EntityUid,
} from './types.ts';

export const ENTITY_TYPES = Object.freeze({
  person: 'Warrant::Person',
  agent: 'Warrant::Agent',
  resource: 'Warrant::Resource',
} as const);

export const DELEGATE_ACTION: EntityUid = Object.freeze({ type: 'Warrant::Action', id: 'delegate' });

/** Rank of a grant without a `data_class` constraint (`context.dataClass` is then `"none"`). */
export const NO_DATA_CLASS_RANK = -1;

export interface PersonParty {
  readonly kind: 'person';
  /** The person's `sub` at their issuer. */
  readonly id: string;
  readonly issuer: string;
}

export interface AgentParty {
  readonly kind: 'agent';
  /** SPIFFE ID. */
  readonly id: string;
  readonly tier: string;
  readonly trustLevel: number;
  readonly owner: string;
}

export interface ResourceParty {
  readonly kind: 'resource';
  /** Tool or resource URI (RFC 8707). */
  readonly id: string;
}

/**
 * A requested grant. Constraints read here: `data_class` (a class, or a list of classes — the highest
 * counts), `destination` (a string or a list), `max_amount` (a non-negative number, rounded up). Others
 * are the STS's business (narrowing) and are not passed to policy.
 */
export interface DelegationGrant {
  readonly action: string;
  readonly resource: string;
  readonly constraints?: Readonly<Record<string, unknown>>;
}

export interface DelegationInput {
  readonly delegator: PersonParty | AgentParty;
  readonly recipient: AgentParty | ResourceParty;
  readonly grants: readonly DelegationGrant[];
  /** The declared intent; `""` in context when absent. */
  readonly task?: string;
  /** Depth of the warrant to be issued: 0 for the root (person → first agent). */
  readonly depth: number;
  /** The natural person at the root of the chain. */
  readonly person: string;
}

/** The decision on one grant, with the grant's position and patterns. */
export interface GrantDecision extends Decision {
  readonly index: number;
  readonly action: string;
  readonly resource: string;
}

/**
 * The decision on the whole delegation. `reasons` name each grant and the policies that decided it —
 * on a deny, only the denied grants (`grants[1] admin:users on crm/*: admin-needs-trust`).
 */
export interface DelegationDecision extends Decision {
  readonly grants: readonly GrantDecision[];
}

/** Asks `policySet` whether `input.delegator` may hand each of `input.grants` to `input.recipient`. */
export function decideDelegation(
  policySet: PolicySet,
  input: DelegationInput,
  cache?: DecisionCache,
): DelegationDecision {
  checkInput(input);
  const principal = partyUid(input.delegator);
  const resource = partyUid(input.recipient);
  const entities: Entity[] = [partyEntity(input.delegator)];
  if (principal.type !== resource.type || principal.id !== resource.id)
    entities.push(partyEntity(input.recipient));

  const grants = input.grants.map((grant, index): GrantDecision => {
    const label = { index, action: String(grant?.action), resource: String(grant?.resource) };
    const context = grantContext(grant, input);
    if (typeof context === 'string') {
      return Object.freeze({
        ...label,
        decision: 'deny',
        reasons: Object.freeze([]),
        errors: Object.freeze([context]),
        policyVersion: policySet.version,
      });
    }
    const request: AuthorizationRequest = { principal, action: DELEGATE_ACTION, resource, context, entities };
    return Object.freeze({ ...label, ...policySet.authorize(request, cache) });
  });

  const denied = grants.filter((g) => g.decision === 'deny');
  const decision: DecisionEffect = grants.length > 0 && denied.length === 0 ? 'allow' : 'deny';
  const reasons =
    grants.length === 0
      ? ['no grants requested']
      : (decision === 'allow' ? grants : denied).flatMap((g) => {
          const name = `grants[${g.index}] ${g.action} on ${g.resource}`;
          if (g.reasons.length > 0) return g.reasons.map((id) => `${name}: ${id}`);
          return [`${name}: ${g.errors.length > 0 ? 'error' : 'no policy permits'}`];
        });
  const errors = grants.flatMap((g) => g.errors.map((e) => `grants[${g.index}]: ${e}`));
  return Object.freeze({
    decision,
    reasons: Object.freeze(reasons),
    errors: Object.freeze(errors),
    policyVersion: policySet.version,
    grants: Object.freeze(grants),
  });
}

/** The Cedar context for one grant, or the reason it cannot be built (the grant is then denied). */
function grantContext(grant: DelegationGrant, input: DelegationInput): Record<string, CedarValue> | string {
  if (typeof grant !== 'object' || grant === null) return 'grant is not an object';
  if (typeof grant.action !== 'string' || typeof grant.resource !== 'string') {
    return 'grant action and resource must be strings';
  }
  const constraints = grant.constraints ?? {};

  let dataClass = 'none';
  let dataClassRank = NO_DATA_CLASS_RANK;
  const classes = constraints['data_class'];
  if (classes !== undefined) {
    const list = Array.isArray(classes) ? classes : [classes];
    if (list.length === 0) return 'data_class is an empty list';
    for (const c of list) {
      if (typeof c !== 'string' || !Object.hasOwn(DATA_CLASS_RANK, c)) {
        return `data_class must be one of ${Object.keys(DATA_CLASS_RANK).join(', ')}`;
      }
      const rank = DATA_CLASS_RANK[c as DataClass];
      if (rank > dataClassRank) {
        dataClassRank = rank;
        dataClass = c;
      }
    }
  }

  const destination = constraints['destination'];
  let destinations: string[] = [];
  if (destination !== undefined) {
    const list = Array.isArray(destination) ? destination : [destination];
    if (!list.every((d) => typeof d === 'string')) return 'destination must be a string or a list of strings';
    destinations = [...new Set(list as string[])].sort();
  }

  const amount = constraints['max_amount'];
  let maxAmount = -1;
  if (amount !== undefined) {
    if (
      typeof amount !== 'number' ||
      !Number.isFinite(amount) ||
      amount < 0 ||
      amount > Number.MAX_SAFE_INTEGER
    ) {
      return 'max_amount must be a non-negative number';
    }
    maxAmount = Math.ceil(amount);
  }

  return {
    grantAction: grant.action,
    grantResource: grant.resource,
    dataClass,
    dataClassRank,
    destinations,
    task: input.task ?? '',
    depth: input.depth,
    person: input.person,
    maxAmount,
  };
}

function partyUid(party: PersonParty | AgentParty | ResourceParty): EntityUid {
  return { type: ENTITY_TYPES[party.kind], id: party.id };
}

function partyEntity(party: PersonParty | AgentParty | ResourceParty): Entity {
  const uid = partyUid(party);
  switch (party.kind) {
    case 'person':
      return { uid, attrs: { issuer: party.issuer }, parents: [] };
    case 'agent':
      return {
        uid,
        attrs: { tier: party.tier, trustLevel: party.trustLevel, owner: party.owner },
        parents: [],
      };
    case 'resource':
      return { uid, attrs: {}, parents: [] };
  }
}

/** Caller mistakes (a malformed input built by the STS, not by a client) are `TypeError`s. */
function checkInput(input: DelegationInput): void {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
  checkParty(input.delegator, 'delegator', ['person', 'agent']);
  checkParty(input.recipient, 'recipient', ['agent', 'resource']);
  if (!Array.isArray(input.grants)) throw new TypeError('grants must be an array');
  if (!Number.isSafeInteger(input.depth) || input.depth < 0)
    throw new TypeError('depth must be a non-negative integer');
  if (typeof input.person !== 'string' || input.person === '')
    throw new TypeError('person must be a non-empty string');
  if (input.task !== undefined && typeof input.task !== 'string')
    throw new TypeError('task must be a string');
}

function checkParty(
  party: PersonParty | AgentParty | ResourceParty,
  name: string,
  kinds: readonly string[],
): void {
  if (typeof party !== 'object' || party === null || !kinds.includes(party.kind)) {
    throw new TypeError(`${name}.kind must be one of ${kinds.join(', ')}`);
  }
  if (typeof party.id !== 'string' || party.id === '')
    throw new TypeError(`${name}.id must be a non-empty string`);
  if (party.kind === 'person' && typeof party.issuer !== 'string')
    throw new TypeError(`${name}.issuer must be a string`);
  if (party.kind === 'agent') {
    if (typeof party.tier !== 'string') throw new TypeError(`${name}.tier must be a string`);
    if (!Number.isSafeInteger(party.trustLevel)) throw new TypeError(`${name}.trustLevel must be an integer`);
    if (typeof party.owner !== 'string') throw new TypeError(`${name}.owner must be a string`);
  }
}
