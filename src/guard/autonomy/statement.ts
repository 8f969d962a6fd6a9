/**
 * The autonomy statement of an agent (DESIGN §6): what it may do alone, what it must ask a person first,
 * what it may never do, and what it does under uncertainty — generated from the action catalog, the action
 * policy (asked for each action, as the gateway would ask at the agent's trust level), the agent's trust
 * level, the bounds per trust level (`guard.autonomy.bounds`, when configured), the budgets
 * (`guard.budgets`, when configured) and the sandbox rules. Always within the grants of the warrant the
 * agent presents: the statement describes its standing, not a grant.
 *
 * The statement is a plain value; its digest (SHA-256 of its RFC 8785 form) identifies a version, and a
 * new version is written to the ledger (src/guard/autonomy/autonomy.ts).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../ledger/jcs.ts';
import { callPolicyRequest, type PolicySet } from '../../policy/index.ts';
import type { ActionCatalog, CatalogEntry } from '../catalog.ts';
import { scoreRisk } from '../risk.ts';

/** The delegation depth the statement assumes: a warrant straight from the person (deeper chains score higher). */
export const STATEMENT_DEPTH = 0;

export interface AutonomyAction {
  readonly action: string;
  readonly impact: string;
  readonly risk: number;
  /** Why it is in this section. */
  readonly why: string;
  /** Set when the agent's calls of this action go to a sandbox (its origin), not production. */
  readonly sandbox?: string;
}

export interface AutonomyStatement {
  readonly agent: string;
  readonly trustLevel: number;
  readonly maxTrustLevel: number;
  readonly pinned: boolean;
  readonly policyVersion: string;
  /** Assumed chain depth for the risk scores. */
  readonly depth: number;
  /** The highest risk the agent may take without a person at its level, when bounds are configured. */
  readonly bound: number | null;
  readonly mayDoAlone: readonly AutonomyAction[];
  readonly mustAskFirst: readonly AutonomyAction[];
  readonly mayNever: readonly AutonomyAction[];
  readonly underUncertainty: readonly string[];
  /** The configured budgets (`guard.budgets`) as they apply, or null when none are configured. */
  readonly budgets: unknown;
}

export interface StatementInput {
  readonly agent: string;
  readonly trustLevel: number;
  readonly maxTrustLevel: number;
  readonly pinned: boolean;
  readonly catalog: ActionCatalog;
  readonly policy: PolicySet;
  /** The `guard` section of the configuration (bounds and budgets are read from it when present). */
  readonly guard: unknown;
}

/** What the agent does whenever the gateway cannot decide with confidence: it stops, and a person decides. */
export const UNDER_UNCERTAINTY: readonly string[] = Object.freeze([
  'an action that is not in the catalog is refused (WARRANT_ACTION_UNKNOWN): it stops and asks a person',
  'when revocation data is stale the gateway refuses every call (WARRANT_STATUS_STALE): it stops and asks',
  'when one of its circuit breakers is open its calls are refused: it stops and asks; an operator resets it',
  'when the guard store or the ledger cannot record a decision nothing is forwarded: it stops and asks',
  'a constrained parameter that is absent or unreadable is a denial: it does not guess a value',
]);

export function autonomyStatement(input: StatementInput): AutonomyStatement {
  const bound = boundFor(input.guard, input.trustLevel);
  const alone: AutonomyAction[] = [];
  const ask: AutonomyAction[] = [];
  const never: AutonomyAction[] = [];
  for (const action of input.catalog.actions) {
    const risk = scoreRisk(action, { depth: STATEMENT_DEPTH, trustLevel: input.trustLevel }).score;
    const base = { action: action.name, impact: action.impact, risk };
    const sandbox =
      action.sandbox !== undefined && input.trustLevel < action.sandbox.belowTrustLevel
        ? new URL(action.sandbox.upstream).origin
        : undefined;
    const alonePolicy = allows(input, action, risk, false);
    if (alonePolicy && (bound === null || risk <= bound)) {
      alone.push({
        ...base,
        why: sandbox === undefined ? 'the action policy allows it' : 'allowed, in the sandbox',
        ...(sandbox === undefined ? {} : { sandbox }),
      });
    } else if (allows(input, action, risk, true)) {
      ask.push({
        ...base,
        why: alonePolicy
          ? `risk ${risk} is above the bound ${bound} of trust level ${input.trustLevel}`
          : 'the action policy allows it only with a person’s approval',
      });
    } else never.push({ ...base, why: 'the action policy denies it even with approval' });
  }
  return {
    agent: input.agent,
    trustLevel: input.trustLevel,
    maxTrustLevel: input.maxTrustLevel,
    pinned: input.pinned,
    policyVersion: input.policy.version,
    depth: STATEMENT_DEPTH,
    bound,
    mayDoAlone: alone,
    mustAskFirst: ask,
    mayNever: never,
    underUncertainty: UNDER_UNCERTAINTY,
    budgets: member(input.guard, 'budgets') ?? null,
  };
}

/** The digest of a statement: SHA-256 (base64url) of its RFC 8785 form. */
export function statementDigest(statement: AutonomyStatement): string {
  return createHash('sha256').update(canonicalJson(statement)).digest('base64url');
}

/** Whether the action policy allows the agent the action at its level (with or without an approval). */
function allows(input: StatementInput, action: CatalogEntry, risk: number, approved: boolean): boolean {
  const request = callPolicyRequest({
    caller: input.agent,
    person: '',
    depth: STATEMENT_DEPTH,
    action,
    resource: action.resource ?? 'urn:warrant:recipient',
    risk,
    trustLevel: input.trustLevel,
    approved,
  });
  return input.policy.authorize(request).decision === 'allow';
}

/**
 * The bound of a trust level from `guard.autonomy.bounds` (configured by bounded autonomy): an array by
 * level of numbers or of objects with `maxRisk`, or an object keyed by level. Null when none applies.
 */
export function boundFor(guard: unknown, level: number): number | null {
  const bounds = member(member(guard, 'autonomy'), 'bounds');
  const at = Array.isArray(bounds)
    ? (bounds.find((b) => member(b, 'level') === level) ?? bounds[level])
    : member(bounds, String(level));
  if (typeof at === 'number') return at;
  const max = member(at, 'maxRisk');
  return typeof max === 'number' ? max : null;
}

function member(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
