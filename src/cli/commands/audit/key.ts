/** `warrant audit key`: print the ledger's public verifier key. */
import { printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { LEDGER_OPTIONS, localLedgerKeys, withLedger } from './shared.ts';

export const auditKey: Command = {
  name: 'audit key',
  summary: "print the ledger's public verifier key",
  description:
    'Prints the C2SP note verifier key of the ledger (name+hash+key: the public half of\n' +
    '<data>/ledger-key.jwk, under the name that signs its checkpoints), one per line. Give it to whoever\n' +
    'verifies an export (`warrant audit verify <export> --key <key>`): it is the trust anchor that a\n' +
    're-signed export cannot match. Run it where the ledger runs; it reads nothing but the data directory.',
  options: { ...LEDGER_OPTIONS, json: { type: 'boolean', description: 'print {keys} as JSON' } },
  examples: [
    'warrant audit key',
    'warrant audit verify ledger.jsonl --key "$(warrant audit key --data /var/lib/warrant)"',
  ],
  async run(args, io) {
    const { keys } = await withLedger(args, (opened) => localLedgerKeys(opened));
    if (args.values['json'] === true) printJson(io, { keys });
    else io.out(`${keys.join('\n')}\n`);
    return EXIT.ok;
  },
};
