import { ADMIN_OPTIONS, adminClient, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { type PinView, REASON_OPTION, ROUTE_OPTION, required, TOOL_OPTION } from './shared.ts';

export const toolsRevoke: Command = {
  name: 'tools revoke',
  summary: "withdraw a tool's approval on a route",
  description:
    "Withdraws a tool's (A2A skill's) approval on a route: it is hidden from tools/list (the agent card)\n" +
    'and its calls are refused (WARRANT_TOOL_NOT_APPROVED) until approved again — also on a tofu route.',
  options: {
    ...ADMIN_OPTIONS,
    route: ROUTE_OPTION,
    tool: TOOL_OPTION,
    reason: REASON_OPTION,
    json: JSON_OPTION,
  },
  examples: [
    'warrant tools revoke --route /mcp --tool export_all',
    'warrant tools revoke --route /mcp --tool search --reason "vendor incident"',
  ],
  async run(args, io) {
    const body = {
      route: required(args, 'route'),
      tool: required(args, 'tool'),
      ...(typeof args.values['reason'] === 'string' ? { reason: args.values['reason'] } : {}),
    };
    const pin = await adminClient(args, io).request<PinView>('POST', '/tools/revoke', body);
    if (args.values['json'] === true) printJson(io, pin);
    else io.out(`revoked ${pin.tool} on ${pin.route}: now ${pin.status}\n`);
    return EXIT.ok;
  },
};
