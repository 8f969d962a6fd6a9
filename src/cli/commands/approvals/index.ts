import type { Command } from '../../command.ts';
import { approvalsApprove, approvalsDeny } from './decide.ts';
import { approvalsList } from './list.ts';
import { approvalsShow } from './show.ts';

/** `warrant approvals …`, one file per subcommand (approve and deny share one), in `--help` order. */
export const approvalsCommands: readonly Command[] = [
  approvalsList,
  approvalsShow,
  approvalsApprove,
  approvalsDeny,
];
