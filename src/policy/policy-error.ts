import { WarrantError } from '../core/errors.ts';

/** One problem found in a policy set or its schema, located where Cedar could tell. */
export interface PolicyDiagnostic {
  /** The file or text the problem is in (`schema`, a policy file path, or the policy set name). */
  readonly source: string;
  /** The policy id (`@id("…")`, else Cedar's `policyN`), when the problem belongs to one policy. */
  readonly policyId?: string;
  /** 1-based line and column in `source`, when Cedar reported a location. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

const SHOWN = 5;

/** A policy set or schema does not parse or validate. `diagnostics` lists every problem found. */
export class PolicyError extends WarrantError {
  readonly diagnostics: readonly PolicyDiagnostic[];

  constructor(diagnostics: readonly PolicyDiagnostic[], options?: { cause?: unknown }) {
    const shown = diagnostics.slice(0, SHOWN).map(formatDiagnostic);
    const more = diagnostics.length > SHOWN ? ` (and ${diagnostics.length - SHOWN} more)` : '';
    super('WARRANT_POLICY_INVALID', `invalid policy set: ${shown.join('; ')}${more}`, options);
    this.diagnostics = Object.freeze([...diagnostics]);
  }
}

/** `source:line:column: policy "id": message`, the parts Cedar could tell. */
export function formatDiagnostic(d: PolicyDiagnostic): string {
  let where = d.source;
  if (d.line !== undefined) where += `:${d.line}${d.column === undefined ? '' : `:${d.column}`}`;
  return `${where}: ${d.policyId === undefined ? '' : `policy "${d.policyId}": `}${d.message}`;
}
