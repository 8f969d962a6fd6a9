/** `warrant audit trace`: the call tree of a transaction. */
import type { TraceCall, TraceNode } from '../../../ledger/audit/trace.ts';
import { printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import { grantText, JSON_OPTION, LEDGER_OPTIONS, notFound, valueOption, withLedger } from './shared.ts';

export const auditTrace: Command = {
  name: 'audit trace',
  summary: 'the call tree of a transaction',
  description:
    'Rebuilds the call tree of one transaction from the chains of its decision records: the person at the\n' +
    'root, each link (hop) with the agent holding it, whom it called or delegated to and the grants it\n' +
    'held, and under each link the decisions made for its calls (allow/deny, action, resource, time,\n' +
    'response status). --json prints the tree.',
  options: {
    txn: valueOption('txn', 'the transaction (or give it as the argument)'),
    ...LEDGER_OPTIONS,
    json: JSON_OPTION,
  },
  positional: { name: '<txn>', description: 'the transaction id', required: false },
  examples: [
    'warrant audit trace --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41',
    'warrant audit trace 7f3c9a2e --json',
  ],
  async run(args, io) {
    const flag = args.values['txn'] as string | undefined;
    const positional = args.positionals[0];
    if (flag !== undefined && positional !== undefined && flag !== positional)
      throw new UsageError('give the transaction once: as the argument or with --txn');
    const txn = flag ?? positional;
    if (txn === undefined || txn === '') throw new UsageError('missing the transaction: --txn <txn>');
    const { traceTxn } = await import('../../../ledger/audit/trace.ts');
    const trace = await withLedger(args, ({ source }) =>
      traceTxn(source, txn).catch((e) => notFound(e, 'Check the txn (see `warrant audit query --json`).')),
    );
    if (args.values['json'] === true) {
      printJson(io, trace);
      return EXIT.ok;
    }
    const lines: string[] = [];
    lines.push(
      `transaction ${trace.txn}: ${trace.decisions} decision(s), ${trace.denied} not allowed` +
        (trace.first ? `, ${trace.first} .. ${trace.last}` : ''),
    );
    for (const t of trace.tasks) lines.push(`task ${JSON.stringify(t)}`);
    for (const p of trace.persons) lines.push(`person ${p.sub} (${p.iss})`);
    const walk = (n: TraceNode, indent: string, last: boolean) => {
      const branch = `${indent}${last ? '└─ ' : '├─ '}`;
      const cont = `${indent}${last ? '   ' : '│  '}`;
      lines.push(`${branch}hop ${n.depth}: ${n.actor}  [link ${n.hash}]`);
      if (n.persons.length > 0)
        lines.push(`${cont}person:     ${n.persons.map((p) => `${p.sub} (${p.iss})`).join(', ')}`);
      if (n.recipients.length > 0) lines.push(`${cont}recipients: ${n.recipients.join(', ')}`);
      if (n.grants.length > 0) lines.push(`${cont}grants:     ${n.grants.map(grantText).join('; ')}`);
      for (const c of n.calls) lines.push(`${cont}${n.children.length > 0 ? '│ ' : '  '}${callText(c)}`);
      n.children.forEach((child, i) => {
        walk(child, cont, i === n.children.length - 1);
      });
    };
    trace.roots.forEach((r, i) => {
      walk(r, '', i === trace.roots.length - 1);
    });
    if (trace.unattached.length > 0) {
      lines.push('decisions without a verified chain:');
      for (const c of trace.unattached) lines.push(`  ${callText(c)}`);
    }
    for (const a of trace.anomalies) lines.push(`warning: ${a}`);
    io.out(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};

function callText(c: TraceCall): string {
  const outcome =
    c.status === undefined
      ? ''
      : ` [${c.status}${c.latencyMs === undefined ? '' : `, ${c.latencyMs.toFixed(1)} ms`}]`;
  const why = c.decision === 'allow' ? '' : ` (${c.reasons.join('; ') || c.code || 'no reason recorded'})`;
  return (
    `#${c.index} ${c.time} ${c.decision.toUpperCase()} ${c.action ?? '(no action)'}` +
    `${c.resource ? ` ${c.resource}` : ''} -> ${c.recipient ?? '?'}${outcome}${why}`
  );
}
