/** `warrant audit checkpoint`: save the ledger's latest signed checkpoint (a trust anchor). */
import { Buffer } from 'node:buffer';
import { parseCheckpoint, verifyCheckpoint } from '../../../ledger/checkpoint.ts';
import { CliError, type Command, EXIT, UsageError } from '../../command.ts';
import {
  givenKeys,
  KEY_OPTION,
  LEDGER_OPTIONS,
  localLedgerKeys,
  OUT_OPTION,
  withLedger,
  writeOutput,
} from './shared.ts';

export const auditCheckpoint: Command = {
  name: 'audit checkpoint',
  summary: "save the ledger's latest signed checkpoint (a trust anchor)",
  description:
    "Writes the ledger's latest signed checkpoint (a C2SP signed note: origin, size, root, signatures) to\n" +
    '--out, or to standard output, after checking its signature against --key, else the public half of\n' +
    '<data>/ledger-key.jwk. Keep it: `warrant audit verify <export> --trusted-checkpoint <file>` then\n' +
    'proves a later export consistent with it (RFC 9162), so a ledger rolled back to an earlier size or\n' +
    'rewritten (forked) fails. The file is written beside its name and renamed into place.',
  options: {
    out: OUT_OPTION,
    key: {
      ...KEY_OPTION,
      description: 'the ledger verifier key to check it with (default: the local ledger key)',
    },
    ...LEDGER_OPTIONS,
  },
  examples: [
    'warrant audit checkpoint --out trusted.cp',
    'warrant audit verify ledger.jsonl --trusted-checkpoint trusted.cp',
  ],
  async run(args, io) {
    const out = args.values['out'] as string | undefined;
    if (out === '') throw new UsageError('--out expects a file');
    const given = givenKeys(args);
    const latest = await withLedger(args, async (opened) => {
      const keys = given.length > 0 ? given : (await localLedgerKeys(opened)).keys;
      const cp = await opened.source.latestCheckpoint();
      if (!cp)
        throw new CliError(
          'the ledger has no signed checkpoint yet',
          'Checkpoints are written every few records and seconds; run again shortly.',
        );
      try {
        verifyCheckpoint(cp.note, keys);
      } catch (error) {
        throw new CliError(
          `the latest checkpoint (size ${cp.size}) does not verify under ${keys.join(', ')}: ${(error as Error).message}`,
          'Check --key (or the data directory): a checkpoint is saved only when its signature verifies.',
        );
      }
      return cp;
    });
    const { origin, size, root } = parseCheckpoint(latest.note);
    await writeOutput(out, io, latest.note);
    io.err(
      `checkpoint of ${origin} at size ${size} (root ${Buffer.from(root).toString('base64')})${out ? ` saved to ${out}` : ''}\n` +
        `verify later exports with: warrant audit verify <export> --trusted-checkpoint ${out ?? '<file>'}\n`,
    );
    return EXIT.ok;
  },
};
