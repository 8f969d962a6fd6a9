import type { Command } from '../../command.ts';
import { agentAdd } from './add.ts';
import { agentAutonomy } from './autonomy.ts';
import { agentDisable } from './disable.ts';
import { agentEnable } from './enable.ts';
import { agentList } from './list.ts';
import { agentProxy } from './proxy.ts';
import { agentRotateKey } from './rotate-key.ts';
import { agentShow } from './show.ts';
import { agentTrust } from './trust.ts';

/** `warrant agent …`, one file per subcommand, in the order `warrant --help` lists them. */
export const agentCommands: readonly Command[] = [
  agentAdd,
  agentList,
  agentShow,
  agentDisable,
  agentEnable,
  agentRotateKey,
  agentTrust,
  agentAutonomy,
  agentProxy,
];
