/** An autonomy statement in words, for people (`warrant agent autonomy`). */
import type { AutonomyAction, AutonomyStatement } from './statement.ts';

export function renderStatement(s: AutonomyStatement, digest: string): string {
  const lines = [
    `Autonomy statement of ${s.agent}`,
    `trust level ${s.trustLevel} of ${s.maxTrustLevel}${s.pinned ? ' (pinned)' : ''}; policy ${s.policyVersion}; digest ${digest}`,
    `Risk scores assume a warrant straight from the person (depth ${s.depth}); everything is within the grants it holds.`,
    ...(s.bound === null ? [] : [`Highest risk without a person at this level: ${s.bound}`]),
    '',
    'May do alone:',
    ...section(s.mayDoAlone),
    '',
    'Must ask a person first:',
    ...section(s.mustAskFirst),
    '',
    'May never do:',
    ...section(s.mayNever),
    '',
    'Under uncertainty it stops and asks:',
    ...s.underUncertainty.map((u) => `  - ${u}`),
  ];
  if (s.budgets !== null) lines.push('', 'Budgets:', `  ${JSON.stringify(s.budgets)}`);
  return `${lines.join('\n')}\n`;
}

function section(actions: readonly AutonomyAction[]): string[] {
  if (actions.length === 0) return ['  (nothing)'];
  return actions.map(
    (a) =>
      `  - ${a.action} (impact ${a.impact}, risk ${a.risk})${a.sandbox === undefined ? '' : ` in the sandbox at ${a.sandbox}`}: ${a.why}`,
  );
}
