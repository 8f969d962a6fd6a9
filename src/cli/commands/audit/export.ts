/** `warrant audit export`: the ledger as verifiable JSON Lines, or as OpenTelemetry spans. */
import { type Command, EXIT, UsageError } from '../../command.ts';
import {
  asUsage,
  givenKeys,
  KEY_OPTION,
  LEDGER_OPTIONS,
  notFound,
  OUT_OPTION,
  openSink,
  pickStrings,
  trustedKeys,
  valueOption,
  withLedger,
} from './shared.ts';

export const auditExport: Command = {
  name: 'audit export',
  summary: 'export the ledger: JSON Lines or OpenTelemetry spans',
  description:
    'Writes the ledger up to its latest signed checkpoint as JSON Lines that `warrant audit verify`\n' +
    'checks offline: a header (origin and verifier keys), one line per record with its canonical JSON,\n' +
    'then the signed checkpoints (see docs/cli.md for the format). The header lists the --key values, or\n' +
    'the public half of <data>/ledger-key.jwk. With --format otel, writes OTLP/JSON traces instead: one\n' +
    'trace per transaction, a span per hop of the chain and one per decision (filter with --txn, --since,\n' +
    '--until). Writes to standard output, or to --out: through a temporary file beside it, flushed and\n' +
    'renamed over it when complete, so a failed or killed export never leaves half a file there.',
  options: {
    out: OUT_OPTION,
    format: valueOption('jsonl|otel', 'jsonl (default, verifiable) or otel (OTLP/JSON)'),
    txn: valueOption('txn', 'otel: only this transaction'),
    since: valueOption('time', 'otel: decisions at or after this time (ISO 8601)'),
    until: valueOption('time', 'otel: decisions before this time (ISO 8601)'),
    key: {
      ...KEY_OPTION,
      description: 'a verifier key to list in the header (default: the local ledger key)',
    },
    ...LEDGER_OPTIONS,
  },
  examples: [
    'warrant audit export --out ledger.jsonl',
    'warrant audit export --format otel --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41 --out trace.json',
  ],
  async run(args, io) {
    const format = (args.values['format'] as string | undefined) ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'otel')
      throw new UsageError(`--format must be jsonl or otel, not ${JSON.stringify(format)}`);
    const out = args.values['out'] as string | undefined;
    if (out === '') throw new UsageError('--out expects a file');
    const filters = pickStrings(args.values, ['txn', 'since', 'until']);
    if (format === 'jsonl' && Object.keys(filters).length > 0)
      throw new UsageError(
        `--${Object.keys(filters)[0]} applies to --format otel only: a JSON Lines export is the whole log, so that it verifies`,
      );
    givenKeys(args);
    const { checkAuditQuery } = await import('../../../ledger/audit/query.ts');
    try {
      checkAuditQuery(filters);
    } catch (error) {
      asUsage(error);
    }
    const { exportJsonLines, exportOtel } = await import('../../../ledger/audit/export.ts');
    // A file is written beside --out and renamed over it once complete: a failure leaves --out as it was.
    const sink = await openSink(out, io);
    let report: string;
    try {
      report = await withLedger(args, async (opened) => {
        if (format === 'otel') {
          const traces = await exportOtel(opened.source, filters);
          await sink.write(`${JSON.stringify(traces)}\n`);
          const spans = traces.resourceSpans[0]?.scopeSpans[0]?.spans.length ?? 0;
          return `exported ${spans} span(s) as OTLP/JSON${out ? ` to ${out}` : ''}\n`;
        }
        const { keys } = await trustedKeys(args, opened);
        const summary = await exportJsonLines(opened.source, (text) => sink.write(text), {
          verifierKeys: keys,
        }).catch((e) =>
          notFound(e, 'Checkpoints are written every few records and seconds; run again shortly.'),
        );
        return (
          `exported ${summary.records} record(s) and ${summary.checkpoints} checkpoint(s) of ${summary.origin}${out ? ` to ${out}` : ''}\n` +
          (summary.uncovered > 0
            ? `(${summary.uncovered} later record(s) are not checkpointed yet and were left out)\n`
            : '') +
          (keys.length > 0
            ? `verify with: warrant audit verify ${out ?? '<file>'} --key '${keys[0]}'\n`
            : 'warning: no verifier key is known (no --key, no ledger-key.jwk): the header lists none, and\n' +
              'verifying needs --key <the ledger verifier key>.\n')
        );
      });
      await sink.commit();
    } finally {
      await sink.abort();
    }
    io.err(report);
    return EXIT.ok;
  },
};
