/**
 * What `warrant contain` works on and answers (DESIGN §6, "Contain"): a selector (one warrant and its
 * subtree, a transaction, an agent or a person), the plan — what would be revoked, which breakers tripped,
 * every action taken under the selection with what happens to it — and, once run, each step's outcome.
 */

/** What to contain: exactly one of these. `agent` is a SPIFFE ID (names are resolved first). */
export type ContainSelector =
  | { readonly warrant: string }
  | { readonly txn: string }
  | { readonly agent: string }
  | { readonly person: string };

/** `txn:<id>`, `agent:<spiffe id>`, `person:<sub>`, `warrant:<hash>`: how runs and steps name a selector. */
export function selectorKey(selector: ContainSelector): string {
  if ('warrant' in selector) return `warrant:${selector.warrant}`;
  if ('txn' in selector) return `txn:${selector.txn}`;
  if ('agent' in selector) return `agent:${selector.agent}`;
  return `person:${selector.person}`;
}

/**
 * What becomes of one allowed action: `compensate` (its compensation is sent), `compensated` (an earlier run
 * did it), `manual` (a person handles it: irreversible, no compensation registered, or its inputs missing).
 */
export type ActionHandling = 'compensate' | 'compensated' | 'manual';

/** One allowed action taken under the selection, as the ledger recorded it. */
export interface ContainedAction {
  /** The decision record's id. */
  readonly decisionId: string;
  /** Its position in the ledger. */
  readonly index: number;
  readonly time: string;
  readonly action: string;
  readonly caller: string;
  readonly txn: string | null;
  readonly person: string | null;
  /** From the catalog (`unknown` when the action is no longer in it). */
  readonly reversibility: 'reversible' | 'compensable' | 'irreversible' | 'unknown';
  /** The answer's status from the outcome record or the gateway's copy, when known. */
  readonly status?: number;
  readonly handling: ActionHandling;
  /** Why a person must handle it, or what was done before. */
  readonly note?: string;
  /** The compensating call (`compensate` / `compensated`): method and path as it will be (was) sent. */
  readonly compensation?: { readonly method: string; readonly url: string; readonly idempotencyKey: string };
}

/** A breaker this containment trips (or would). */
export interface BreakerKey {
  readonly agent?: string;
  readonly txn?: string;
}

export interface ContainPlan {
  readonly selector: ContainSelector;
  /** Live warrants the revocation reaches (the selected ones and every descendant). */
  readonly revoke: { readonly live: number };
  readonly breakers: readonly BreakerKey[];
  /** Every allowed action under the selection, oldest first. */
  readonly actions: readonly ContainedAction[];
  /** The decision ids whose compensations run, in the order they run (newest first). */
  readonly compensationOrder: readonly string[];
}

export type StepOutcome = 'done' | 'failed' | 'skipped';

/** One step of a run, as reported (and recorded in the ledger). */
export interface ContainStep {
  readonly step: 'revoke' | 'breaker' | 'compensate' | 'manual';
  readonly outcome: StepOutcome;
  readonly decisionId?: string;
  readonly action?: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface ContainResult {
  readonly run: string;
  readonly dryRun: false;
  readonly plan: ContainPlan;
  readonly revoked: number;
  readonly steps: readonly ContainStep[];
  readonly summary: {
    readonly compensated: number;
    readonly alreadyCompensated: number;
    readonly failed: number;
    readonly manual: number;
    readonly breakersTripped: number;
    readonly breakersUnavailable: number;
  };
}

/** Told of each step as it happens (progress lines, the API's streamed events). */
export type ContainProgress = (step: ContainStep) => void;
