/** `warrant audit report`: excessive-agency | disclosure. */
import { printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import {
  asUsage,
  grantText,
  LEDGER_OPTIONS,
  notFound,
  pickStrings,
  valueOption,
  withLedger,
  writeOutput,
} from './shared.ts';

const REPORTS = ['excessive-agency', 'disclosure'] as const;

export const auditReport: Command = {
  name: 'audit report',
  summary: 'reports: excessive-agency | disclosure',
  description:
    'excessive-agency: per calling agent and action, the grants held against those used in the window\n' +
    '(--since/--until): grants never used, wildcard grants used for only a few actions or resources\n' +
    '(crm:* held, only crm:contacts.read used), and agents holding far more grants than the median of the\n' +
    'agents doing the same action; each finding with its counts.\n' +
    'disclosure: for one transaction (--txn), a self-contained HTML page for the person it was done for:\n' +
    'the chain drawn as a graph (person → agents → tools, with the decisions), every action, and where\n' +
    'the records sit in the signed ledger. Written to --out, or to standard output.',
  options: {
    txn: valueOption('txn', 'disclosure: the transaction'),
    out: valueOption('file', 'disclosure: the HTML file to write', { short: 'o' }),
    since: valueOption('time', 'excessive-agency: from this time (ISO 8601)'),
    until: valueOption('time', 'excessive-agency: before this time (ISO 8601)'),
    ...LEDGER_OPTIONS,
    json: { type: 'boolean', description: 'excessive-agency: print the report as JSON' },
  },
  positional: { name: '<report>', description: REPORTS.join(' | '), required: true },
  examples: [
    'warrant audit report excessive-agency --since 2025-06-01',
    'warrant audit report disclosure --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41 --out disclosure.html',
  ],
  async run(args, io) {
    const kind = args.positionals[0]!;
    if (!(REPORTS as readonly string[]).includes(kind))
      throw new UsageError(`unknown report ${JSON.stringify(kind)}: expected ${REPORTS.join(' or ')}`);
    const v = args.values;
    if (kind === 'disclosure') {
      for (const flag of ['since', 'until', 'json'])
        if (v[flag] !== undefined)
          throw new UsageError(`--${flag} applies to excessive-agency, not disclosure`);
      const txn = v['txn'] as string | undefined;
      if (txn === undefined || txn === '') throw new UsageError('disclosure needs --txn <txn>');
      const out = v['out'] as string | undefined;
      if (out === '') throw new UsageError('--out expects a file');
      const { disclosureReport } = await import('../../../ledger/audit/disclosure.ts');
      const html = await withLedger(args, ({ source }) =>
        disclosureReport(source, txn).catch((e) =>
          notFound(e, 'Check the txn (see `warrant audit query --json`).'),
        ),
      );
      await writeOutput(out, io, html);
      if (out) io.err(`wrote the disclosure of transaction ${txn} to ${out}\n`);
      return EXIT.ok;
    }
    for (const flag of ['txn', 'out'])
      if (v[flag] !== undefined)
        throw new UsageError(`--${flag} applies to disclosure, not excessive-agency`);
    const window = pickStrings(v, ['since', 'until']);
    const { checkAuditQuery } = await import('../../../ledger/audit/query.ts');
    try {
      checkAuditQuery(window);
    } catch (error) {
      asUsage(error);
    }
    const { excessiveAgency } = await import('../../../ledger/audit/excessive-agency.ts');
    const report = await withLedger(args, ({ source }) => excessiveAgency(source, window));
    if (v['json'] === true) {
      printJson(io, report);
      return EXIT.ok;
    }
    const lines: string[] = [];
    const span =
      report.window.since || report.window.until
        ? `${report.window.since ?? 'the start'} .. ${report.window.until ?? 'now'}`
        : 'the whole ledger';
    lines.push(
      `excessive agency over ${span}: ${report.decisions} decision(s) by ${report.callers} caller(s)`,
    );
    lines.push('');
    if (report.findings.length === 0) lines.push('no findings');
    else lines.push(`findings (${report.findings.length}):`);
    for (const f of report.findings) {
      lines.push(`  ${f.severity.toUpperCase().padEnd(6)} ${f.kind.padEnd(13)} ${f.message}`);
      lines.push(
        `         evidence: ${Object.entries(f.evidence)
          .map(([k, val]) => `${k}=${Array.isArray(val) ? val.join(',') : String(val)}`)
          .join(' ')}`,
      );
      if (f.suggestion) lines.push(`         narrower: ${f.suggestion.map(grantText).join('; ')}`);
    }
    lines.push('', 'per caller and action (allowed/denied, grants held, grants used):');
    for (const r of report.rows)
      lines.push(
        `  ${r.caller}  ${r.action}  ${r.allowed}/${r.denied}  held ${r.grantsHeld}  used ${r.grantsUsed.map(grantText).join('; ') || '-'}`,
      );
    io.out(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};
