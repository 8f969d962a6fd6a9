import type { Command } from '../../command.ts';
import { budgetSet } from './set.ts';
import { budgetShow } from './show.ts';

/** `warrant budget …`, one file per subcommand. */
export const budgetCommands: readonly Command[] = [budgetShow, budgetSet];
