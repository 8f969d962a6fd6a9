/** `warrant audit verify`: verify a ledger export offline, against a trust anchor. */
import { readFileSync, statSync } from 'node:fs';
import { parseCheckpoint } from '../../../ledger/checkpoint.ts';
import { printJson } from '../../admin-client.ts';
import { CliError, type Command, EXIT, UsageError } from '../../command.ts';
import { givenKeys, KEY_OPTION, valueOption, writeOutput } from './shared.ts';

const ANCHOR_HELP =
  'A trust anchor is required (DESIGN §8): the file alone proves only that it agrees with itself, since\n' +
  'whoever rewrites it can re-sign it and list their own key in it. Give at least one:\n' +
  '  --key <verifier key>          the ledger key, pinned (`warrant audit key` prints it where the ledger runs);\n' +
  '  --trusted-checkpoint <file>   a checkpoint saved earlier (`warrant audit checkpoint --out <file>`, or\n' +
  '                                --save-checkpoint here): the export must reach it and be consistent with it\n' +
  '                                (RFC 9162 consistency proof), so a log rolled back or forked fails;\n' +
  '  --witness-key <verifier key>  a witness whose co-signature on the checkpoints vouches for the records.\n';

export const auditVerify: Command = {
  name: 'audit verify',
  summary: 'verify a ledger export offline, against a trust anchor',
  description:
    'Verifies a JSON Lines ledger export (`warrant audit export`) offline: each record is re-hashed from\n' +
    'its canonical JSON (RFC 8785), the Merkle tree (RFC 9162) rebuilt, every checkpoint signature checked\n' +
    'and its root compared with the rebuilt root, successive checkpoints checked for consistency, and the\n' +
    'indices checked to run 0..n-1. Any change, removal, reordering or insertion of a record fails, naming\n' +
    `the line.\n${ANCHOR_HELP}` +
    "--save-checkpoint <file> then keeps the export's latest checkpoint as the anchor for the next time\n" +
    '(it needs --key or --trusted-checkpoint: a witness vouches for records, not for the log key).\n' +
    'Exits 0 when it verifies against an anchor; 1 otherwise, naming each problem and its code\n' +
    '(WARRANT_AUDIT_NO_TRUST_ANCHOR without an anchor, WARRANT_AUDIT_EXPORT_ROLLED_BACK,\n' +
    'WARRANT_AUDIT_EXPORT_FORKED, WARRANT_AUDIT_EXPORT_TAMPERED, WARRANT_AUDIT_EXPORT_MALFORMED).',
  options: {
    key: KEY_OPTION,
    'trusted-checkpoint': valueOption('file', 'a checkpoint (C2SP signed note) saved earlier, trusted', {
      multiple: true,
    }),
    'witness-key': valueOption(
      'verifier key',
      'a trusted witness key: checkpoints it co-signed are anchored',
      { multiple: true },
    ),
    'save-checkpoint': valueOption(
      'file',
      "on success, save the export's latest checkpoint here (the next anchor)",
    ),
    json: { type: 'boolean', description: 'print the verification result as JSON' },
  },
  positional: { name: '<export>', description: 'the export file (- for standard input)', required: true },
  examples: [
    'warrant audit verify ledger.jsonl --key "$(warrant audit key)"',
    'warrant audit verify ledger.jsonl --key "warrant.local/ledger+1a2b3c4d+AaBb…" --save-checkpoint trusted.cp',
    'warrant audit verify newer.jsonl --trusted-checkpoint trusted.cp --save-checkpoint trusted.cp',
    'warrant audit verify ledger.jsonl --witness-key "witness.example/w1+5e6f7a8b+AcDd…" --json',
  ],
  async run(args, io) {
    const keys = givenKeys(args);
    const witnessKeys = givenKeys(args, 'witness-key');
    const save = args.values['save-checkpoint'] as string | undefined;
    if (save === '') throw new UsageError('--save-checkpoint expects a file');
    const trustedFiles = (args.values['trusted-checkpoint'] as readonly string[] | undefined) ?? [];
    if (trustedFiles.includes('')) throw new UsageError('--trusted-checkpoint expects a file');
    if (save !== undefined && keys.length === 0 && trustedFiles.length === 0)
      throw new UsageError(
        '--save-checkpoint needs --key or --trusted-checkpoint: a checkpoint is saved only when its log signature was checked against a key you trust',
      );
    const trustedCheckpoints = trustedFiles.map(readTrustedCheckpoint);
    const file = args.positionals[0]!;
    const { verifyExport, verifyExportFile } = await import('../../../ledger/audit/verify-export.ts');
    if (file !== '-') {
      let isFile = false;
      try {
        isFile = statSync(file).isFile();
      } catch (error) {
        throw new CliError(
          `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          'Give the path of an export written by `warrant audit export`.',
        );
      }
      if (!isFile)
        throw new CliError(
          `${file} is not a file`,
          'Give the path of an export written by `warrant audit export`.',
        );
    }
    const options = { verifierKeys: keys, witnessKeys, trustedCheckpoints };
    const result =
      file === '-'
        ? await verifyExport(io.stdin as AsyncIterable<Uint8Array | string>, options)
        : await verifyExportFile(file, options);
    if (args.values['json'] === true) printJson(io, result);
    const name = file === '-' ? 'the export' : file;
    if (!result.ok) {
      const codes = new Set(result.problems.map((p) => p.code));
      throw new CliError(
        `${name} does not verify: ${result.problems.length} problem(s)` +
          `${result.stopped ? ' (stopped after these)' : ''}:\n` +
          result.problems.map((p) => `  ${p.message} (${p.code})`).join('\n'),
        codes.has('WARRANT_AUDIT_EXPORT_ROLLED_BACK') || codes.has('WARRANT_AUDIT_EXPORT_FORKED')
          ? 'The ledger is not the one you trusted earlier: it was rolled back or rewritten. Keep this export and\n' +
              'the trusted checkpoint as evidence, and do not rely on the export.'
          : codes.size === 1 && codes.has('WARRANT_AUDIT_NO_TRUST_ANCHOR')
            ? ANCHOR_HELP.trimEnd()
            : 'The file is not the ledger as it was signed (changed, cut, or not an export): do not rely on it.\n' +
              'Export again from the ledger and compare, or ask for the original file.',
      );
    }
    if (args.values['json'] !== true) {
      io.out(
        `${name}: verified\n` +
          `  origin       ${result.origin}\n` +
          `  records      ${result.records} (indices 0..${result.records - 1}, each re-hashed from its canonical JSON)\n` +
          `  checkpoints  ${result.verifiedSizes.length} signed and matching (sizes ${listSizes(result.verifiedSizes)}), consistent\n` +
          `  root         ${result.root} at size ${result.size}\n` +
          `  key(s)       ${result.keys.join(', ')} (${KEYS_FROM[result.keysFrom]})\n` +
          `  anchor       ${describeAnchors(result)}\n`,
      );
    }
    if (save !== undefined) {
      if (result.note === undefined) throw new CliError('no checkpoint to save', 'Export again.');
      await writeOutput(save, io, result.note);
      io.err(
        `saved the checkpoint of size ${result.size} to ${save}: verify later exports with --trusted-checkpoint ${save}\n`,
      );
    }
    return EXIT.ok;
  },
};

const KEYS_FROM = {
  given: 'from --key',
  'trusted-checkpoint': 'from the file, as signers of the trusted checkpoint',
  file: 'from the file itself',
} as const;

function describeAnchors(result: {
  anchoredBy: readonly string[];
  trustedSizes: readonly number[];
  witnessedSizes: readonly number[];
}): string {
  const parts: string[] = [];
  if (result.anchoredBy.includes('key')) parts.push('the pinned key (--key)');
  if (result.anchoredBy.includes('trusted-checkpoint'))
    parts.push(
      result.trustedSizes.length > 0
        ? `consistent with the trusted checkpoint(s) of size ${listSizes(result.trustedSizes)} (RFC 9162 consistency proof)`
        : 'the key that signed the trusted checkpoint',
    );
  if (result.anchoredBy.includes('witness'))
    parts.push(`co-signed by a trusted witness (sizes ${listSizes(result.witnessedSizes)})`);
  return parts.join('; ');
}

/** Reads a `--trusted-checkpoint` file: one C2SP checkpoint note. */
function readTrustedCheckpoint(path: string): string {
  const hint =
    'Give a checkpoint saved by `warrant audit checkpoint --out <file>` or `warrant audit verify --save-checkpoint <file>`.';
  let text: string;
  try {
    if (statSync(path).size > 1 << 20)
      throw new CliError(`--trusted-checkpoint ${path}: larger than 1 MiB`, hint);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read --trusted-checkpoint ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      hint,
    );
  }
  try {
    parseCheckpoint(text);
  } catch (error) {
    throw new CliError(`--trusted-checkpoint ${path}: ${(error as Error).message}`, hint);
  }
  return text;
}

/** Checkpoint sizes, abbreviated when there are many: `1000, 2000, 3000, …, 1000000 (1000 in all)`. */
function listSizes(sizes: readonly number[]): string {
  if (sizes.length <= 8) return sizes.join(', ');
  return `${sizes.slice(0, 3).join(', ')}, …, ${sizes.at(-1)}`;
}
