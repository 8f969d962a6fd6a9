import type { Command } from '../../command.ts';
import { toolsApprove } from './approve.ts';
import { toolsList } from './list.ts';
import { toolsRevoke } from './revoke.ts';

/** `warrant tools …` (pinned tools), one file per subcommand, in the order `warrant --help` lists them. */
export const toolsCommands: readonly Command[] = [toolsList, toolsApprove, toolsRevoke];
