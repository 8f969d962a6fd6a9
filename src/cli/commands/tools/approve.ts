import { ADMIN_OPTIONS, adminClient, JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import { type PinView, REASON_OPTION, ROUTE_OPTION, required, TOOL_OPTION } from './shared.ts';

export const toolsApprove: Command = {
  name: 'tools approve',
  summary: "approve a tool's definition on a route",
  description:
    "Approves the definition a route's server shows now for one tool (A2A: skill): --digest must be the\n" +
    'digest `warrant tools list` shows for it ("shown now"), so what is approved is what was reviewed. A\n' +
    'quarantined or pending tool is listed and callable again from the next request.',
  options: {
    ...ADMIN_OPTIONS,
    route: ROUTE_OPTION,
    tool: TOOL_OPTION,
    digest: { type: 'string', value: 'sha256:…', description: 'the digest of the definition to approve' },
    reason: REASON_OPTION,
    json: JSON_OPTION,
  },
  examples: [
    'warrant tools approve --route /mcp --tool search --digest sha256:3f1c…',
    'warrant tools approve --route /a2a --tool research --digest sha256:9b2e… --reason "reviewed new tags"',
  ],
  async run(args, io) {
    const body = {
      route: required(args, 'route'),
      tool: required(args, 'tool'),
      digest: required(args, 'digest'),
      ...(typeof args.values['reason'] === 'string' ? { reason: args.values['reason'] } : {}),
    };
    const pin = await adminClient(args, io).request<PinView>('POST', '/tools/approve', body);
    if (args.values['json'] === true) printJson(io, pin);
    else io.out(`approved ${pin.tool} on ${pin.route} (${pin.digest})\n`);
    return EXIT.ok;
  },
};
