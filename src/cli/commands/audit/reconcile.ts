/** `warrant audit reconcile`: two deployments' ledger exports, matched by shared chain hashes (DESIGN §11). */
import { statSync } from 'node:fs';
import { printJson } from '../../admin-client.ts';
import { CliError, type Command, EXIT, UsageError } from '../../command.ts';
import { givenKeys, KEY_OPTION } from './shared.ts';

export const auditReconcile: Command = {
  name: 'audit reconcile',
  summary: "match two deployments' ledger exports by the chains they share",
  description:
    'Reconciles the ledger exports of two deployments whose chains cross (`warrant audit export` on each\n' +
    'side; DESIGN §11). Each export is first proven against its own ledger key (--key-a, --key-b: `warrant\n' +
    'audit key` on each side), exactly as `warrant audit verify` does. Decision records are then matched by\n' +
    'the chain hashes they share: a warrant handed from A to B is the last link of the call A recorded and a\n' +
    "link of every call B recorded under it. Reported: each side's proof, the matched hand-offs with both\n" +
    "sides' records, and what one side recorded and the other did not — a B call whose chain crossed from A\n" +
    'with no A record of the hand-off, an allowed A call to an agent of B with no B record under its warrant\n' +
    '(and the same the other way round).\n' +
    'Exits 0 when both exports verify and every crossing record has its counterpart; 1 when an export does\n' +
    'not verify or a record is one-sided (listed); 2 on a usage error.',
  options: {
    'key-a': { ...KEY_OPTION, description: "A's ledger verifier key (name+hash+key)" },
    'key-b': { ...KEY_OPTION, description: "B's ledger verifier key (name+hash+key)" },
    json: { type: 'boolean', description: 'print the reconciliation as JSON' },
  },
  positional: {
    name: '<A.jsonl> <B.jsonl>',
    description: "A's export and B's export",
    required: true,
    count: 2,
  },
  examples: [
    'warrant audit reconcile a.jsonl b.jsonl --key-a "$(warrant audit key --data /srv/a)" --key-b "$(warrant audit key --data /srv/b)"',
    'warrant audit reconcile a.jsonl b.jsonl --key-a "a.example/ledger+…" --key-b "b.example/ledger+…" --json',
  ],
  async run(args, io) {
    if (args.positionals.length !== 2) throw new UsageError('give two exports: <A.jsonl> <B.jsonl>');
    const keysA = givenKeys(args, 'key-a');
    const keysB = givenKeys(args, 'key-b');
    if (keysA.length === 0 || keysB.length === 0)
      throw new UsageError(
        "--key-a and --key-b are required: each export is proven against its own ledger's key (`warrant audit key` on each side)",
      );
    const [fileA, fileB] = args.positionals as [string, string];
    for (const file of [fileA, fileB]) {
      let isFile = false;
      try {
        isFile = statSync(file).isFile();
      } catch (error) {
        throw new CliError(
          `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          'Give the paths of two exports written by `warrant audit export`.',
        );
      }
      if (!isFile) throw new CliError(`${file} is not a file`, 'Give the paths of two exports.');
    }
    const { reconcileExports, reconciliationText } = await import('../../../ledger/audit/reconcile.ts');
    const result = await reconcileExports(fileA, fileB, { keysA, keysB });
    if (args.values['json'] === true) printJson(io, result);
    else io.out(reconciliationText(result));
    return result.ok ? EXIT.ok : EXIT.failure;
  },
};
