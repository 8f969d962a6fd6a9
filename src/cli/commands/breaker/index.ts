import type { Command } from '../../command.ts';
import { breakerList } from './list.ts';
import { breakerReset } from './reset.ts';

/** `warrant breaker …`, one file per subcommand. */
export const breakerCommands: readonly Command[] = [breakerList, breakerReset];
