import { JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';
import {
  APPROVAL_ID,
  APPROVER_OPTIONS,
  type ApprovalView,
  approvalId,
  approvalsRequest,
  describeApproval,
} from './shared.ts';

export const approvalsShow: Command = {
  name: 'approvals show',
  summary: 'show one approval: the call, its risk and factors, its decision',
  description:
    'Shows one approval: the action and resource, the call it binds (its values and digest), the caller and\n' +
    'the chain, the risk and the factors above the bound, to whom it is addressed, and what became of it.',
  options: { ...APPROVER_OPTIONS, json: JSON_OPTION },
  positional: APPROVAL_ID,
  examples: [
    'warrant approvals show 4f0c2a1e-8a2b-4c1d-9e3f-0a1b2c3d4e5f',
    'warrant approvals show 4f0c2a1e-8a2b-4c1d-9e3f-0a1b2c3d4e5f --json',
  ],
  async run(args, io) {
    const approval = await approvalsRequest<ApprovalView>(args, io, 'GET', `/${approvalId(args)}`);
    if (args.values['json'] === true) printJson(io, approval);
    else io.out(describeApproval(approval));
    return EXIT.ok;
  },
};
