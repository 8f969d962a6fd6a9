import type { Command } from '../command.ts';
import { comingCommands } from './coming.ts';
import { configSchemaCommand } from './config-schema.ts';
import { configValidate } from './config-validate.ts';
import { dev } from './dev.ts';
import { keygen } from './keygen.ts';
import { tokenInspect } from './token-inspect.ts';

const coming = new Map(comingCommands.map((c) => [c.name, c]));

/** Every command, in the order of DESIGN §10 (then the configuration commands). */
export const COMMANDS: readonly Command[] = [
  dev,
  coming.get('serve')!,
  coming.get('gateway')!,
  keygen,
  coming.get('agent')!,
  tokenInspect,
  coming.get('token verify')!,
  coming.get('revoke')!,
  coming.get('contain')!,
  coming.get('approvals')!,
  coming.get('audit')!,
  coming.get('policy')!,
  configValidate,
  configSchemaCommand,
];
