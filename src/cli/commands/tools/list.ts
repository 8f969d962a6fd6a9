import { ADMIN_OPTIONS, adminClient, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { describeTools, ROUTE_OPTION, required, TOOL_OPTION, type ToolsView } from './shared.ts';

export const toolsList: Command = {
  name: 'tools list',
  summary: "list a route's pinned tools and their drift",
  description:
    'Lists the tools (A2A skills) seen on a route that pins its tools: status (approved, quarantined,\n' +
    'pending), the approved digest and the one the server shows now, and the drift (old and new digest,\n' +
    'the fields that changed). Approve what the server shows now with `warrant tools approve`; --json\n' +
    'prints the definitions too, to review before approving.',
  options: { ...ADMIN_OPTIONS, route: ROUTE_OPTION, tool: TOOL_OPTION, json: JSON_OPTION },
  examples: [
    'warrant tools list --route /mcp',
    'warrant tools list --route /mcp --tool search --json',
    'warrant tools list --route /a2a --url https://sts.example.org',
  ],
  async run(args, io) {
    const route = required(args, 'route');
    const query = new URLSearchParams({ route });
    if (typeof args.values['tool'] === 'string') query.set('tool', args.values['tool']);
    const view = await adminClient(args, io).request<ToolsView>('GET', `/tools?${query}`);
    if (args.values['json'] === true) printJson(io, view);
    else io.out(describeTools(view));
    return EXIT.ok;
  },
};
