import { ADMIN_OPTIONS, adminClient, printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import { type AgentView, intFlag, stringFlag } from './shared.ts';

export const agentList: Command = {
  name: 'agent list',
  summary: 'list registered agents',
  description:
    'Lists the registered agents, oldest first, one page at a time (--limit, default 100). When more\n' +
    'agents follow, the cursor for the next page is printed to standard error (pass it with --after).',
  options: {
    status: { type: 'string', value: 'active|disabled', description: 'only agents with this status' },
    limit: { type: 'string', value: 'n', description: 'at most this many agents, 1..1000 (default 100)' },
    after: { type: 'string', value: 'cursor', description: 'the cursor of the previous page' },
    ...ADMIN_OPTIONS,
    json: { type: 'boolean', description: 'print {items, next} as JSON' },
  },
  examples: ['warrant agent list', 'warrant agent list --status disabled --json'],
  async run(args, io) {
    const status = stringFlag(args, 'status');
    if (status !== undefined && status !== 'active' && status !== 'disabled') {
      throw new UsageError('--status expects active or disabled');
    }
    const limit = intFlag(args.values['limit'], '--limit', 1, 1000);
    const after = stringFlag(args, 'after');
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (status !== undefined) query.set('status', status);
    if (after !== undefined) query.set('after', after);
    const client = adminClient(args, io);
    const page = await client.request<{ items: AgentView[]; next: string | null }>(
      'GET',
      `/agents${query.size > 0 ? `?${query}` : ''}`,
    );
    if (args.values['json'] === true) {
      printJson(io, page);
      return EXIT.ok;
    }
    if (page.items.length === 0) io.err('no agents registered yet (add one with `warrant agent add`)\n');
    else io.out(table(page.items));
    if (page.next) io.err(`more agents follow: run again with --after ${page.next}\n`);
    return EXIT.ok;
  },
};

function table(agents: readonly AgentView[]): string {
  const head = ['NAME', 'STATUS', 'TIER', 'TRUST', 'OWNER', 'ID'];
  const rows = agents.map((a) => [a.name, a.status, a.tier, String(a.trustLevel), a.owner, a.id]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[head, ...rows].map(line).join('\n')}\n`;
}
