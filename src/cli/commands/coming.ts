import { CliError, type Command } from '../command.ts';

/**
 * A command of DESIGN §10 that is listed in `warrant --help` but not built yet. Running it says so and
 * exits 1, rather than pretending.
 */
function coming(name: string, summary: string, description: string, examples: readonly string[]): Command {
  return {
    name,
    summary,
    description,
    options: {},
    examples,
    coming: true,
    async run() {
      throw new CliError('not implemented yet (coming)', 'See README.md (Status) for what exists today.');
    },
  };
}

export const comingCommands: readonly Command[] = [
  coming(
    'policy test',
    'run policy tests against a policy set',
    'Runs policy test cases (requests and the decisions expected) against a Cedar policy set.',
    ['warrant policy test --policies policies/delegation.cedar --tests policy-tests.yaml'],
  ),
];
