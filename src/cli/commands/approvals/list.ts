import { JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT, UsageError } from '../../command.ts';
import { APPROVER_OPTIONS, type ApprovalView, approvalsRequest } from './shared.ts';

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'withdrawn', 'used'];

export const approvalsList: Command = {
  name: 'approvals list',
  summary: 'list human approvals, newest first',
  description:
    'Lists approvals newest first: as an admin every approval (or those addressed to one person or group),\n' +
    'with --id-token-file the ones addressed to you.',
  options: {
    ...APPROVER_OPTIONS,
    status: { type: 'string', value: 'status', description: `only this status (${STATUSES.join(', ')})` },
    'addressed-to': {
      type: 'string',
      value: 'address',
      description: 'admin: only approvals addressed to `person:<iss> <sub>` or `group:<name>`',
    },
    json: JSON_OPTION,
  },
  examples: [
    'warrant approvals list --status pending',
    'warrant approvals list --addressed-to group:finance --json',
    'warrant approvals list --id-token-file ~/.config/warrant/id-token',
  ],
  async run(args, io) {
    const status = args.values['status'];
    if (typeof status === 'string' && !STATUSES.includes(status))
      throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    const query = new URLSearchParams();
    if (typeof status === 'string') query.set('status', status);
    const to = args.values['addressed-to'];
    if (typeof to === 'string') query.set('addressed_to', to);
    const q = query.size > 0 ? `?${query}` : '';
    const { approvals } = await approvalsRequest<{ approvals: ApprovalView[] }>(args, io, 'GET', q);
    if (args.values['json'] === true) printJson(io, approvals);
    else if (approvals.length === 0) io.out('no approvals\n');
    else
      for (const a of approvals)
        io.out(
          `${a.id}  ${a.status.padEnd(9)}  risk ${String(a.risk).padStart(3)}  ${a.action}  ${a.caller}\n`,
        );
    return EXIT.ok;
  },
};
