/** `warrant audit query`: records by person, agent, action, decision, time. */
import { printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { asUsage, integerFlag, LEDGER_OPTIONS, pickStrings, valueOption, withLedger } from './shared.ts';

export const auditQuery: Command = {
  name: 'audit query',
  summary: 'records by person, agent, action, decision, time',
  description:
    'Lists ledger records matching every filter given, by index. Times are ISO 8601 (2025-06-15 or\n' +
    '2025-06-15T10:00:00Z; without an offset, UTC); --since is inclusive, --until exclusive. --agent is the\n' +
    'calling agent (its SPIFFE ID). At most --limit records (default 100); when there are more, the next\n' +
    'page starts with --after <the index printed>.',
  options: {
    person: valueOption('sub', "the person's subject (root of the chain)"),
    agent: valueOption('spiffe id', 'the calling agent'),
    action: valueOption('action', 'the action, e.g. crm:contacts.read'),
    decision: valueOption('decision', 'allow, deny, approval_required or contained'),
    txn: valueOption('txn', 'the transaction'),
    since: valueOption('time', 'records at or after this time (ISO 8601)'),
    until: valueOption('time', 'records before this time (ISO 8601)'),
    limit: valueOption('n', 'at most this many records (default 100, at most 100000)'),
    after: valueOption('index', 'only records after this index (paging)'),
    ...LEDGER_OPTIONS,
    json: { type: 'boolean', description: 'print {records, next} as JSON' },
  },
  examples: [
    'warrant audit query --person alice --since 2025-06-01 --decision deny',
    'warrant audit query --agent spiffe://warrant.local/agent/researcher --action crm:contacts.read --json',
  ],
  async run(args, io) {
    const { checkAuditQuery, queryRecords } = await import('../../../ledger/audit/query.ts');
    const v = args.values;
    const query = {
      ...pickStrings(v, ['person', 'agent', 'action', 'decision', 'txn', 'since', 'until']),
      ...(v['limit'] === undefined ? {} : { limit: integerFlag(v['limit'] as string, 'limit') }),
      ...(v['after'] === undefined ? {} : { after: integerFlag(v['after'] as string, 'after') }),
    };
    try {
      checkAuditQuery(query);
    } catch (error) {
      asUsage(error);
    }
    const result = await withLedger(args, ({ source }) => queryRecords(source, query));
    if (v['json'] === true) {
      printJson(io, { records: result.items.map((r) => r.record), next: result.next });
      return EXIT.ok;
    }
    const lines = result.items.map(({ index, record: r }) => {
      if (r.kind === 'autonomy')
        return `#${index} ${r.time} autonomy statement of ${r.caller ?? '?'} at trust level ${r.trustLevel ?? '?'}: ${r.autonomy?.digest ?? '?'}`;
      if (r.kind === 'outcome')
        return `#${index} ${r.time} outcome of ${r.decisionId}: status ${r.status ?? '?'}${typeof r.latencyMs === 'number' ? ` in ${r.latencyMs.toFixed(1)} ms` : ''}`;
      return (
        `#${index} ${r.time} ${String(r.decision ?? '?').toUpperCase()} ${r.action ?? '(no action)'}` +
        `${r.resource ? ` ${r.resource}` : ''} by ${r.caller ?? '?'} -> ${r.recipient ?? '?'}` +
        ` for ${r.person?.sub ?? '?'} (txn ${r.txn ?? '?'})`
      );
    });
    io.out(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    if (result.items.length === 0) io.err('no record matches\n');
    if (result.next !== null) io.err(`more records match: run again with --after ${result.next}\n`);
    return EXIT.ok;
  },
};
