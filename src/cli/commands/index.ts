import type { Command } from '../command.ts';
import { agentCommands } from './agent/index.ts';
import { approvalsCommands } from './approvals/index.ts';
import { auditCommands } from './audit/index.ts';
import { breakerCommands } from './breaker/index.ts';
import { budgetCommands } from './budget/index.ts';
import { clusterUp } from './cluster.ts';
import { comingCommands } from './coming.ts';
import { configSchemaCommand } from './config-schema.ts';
import { configValidate } from './config-validate.ts';
import { contain } from './contain.ts';
import { dev } from './dev.ts';
import { devLogin } from './dev-login.ts';
import { gateway } from './gateway.ts';
import { keygen } from './keygen.ts';
import { keysRotate, policyReload, policyValidate } from './policy.ts';
import { revoke } from './revoke.ts';
import { serve } from './serve.ts';
import { tokenInspect } from './token-inspect.ts';
import { tokenVerify } from './token-verify.ts';
import { toolsCommands } from './tools/index.ts';

const coming = new Map(comingCommands.map((c) => [c.name, c]));

/** Every command, in the order of DESIGN §10 (then the admin-only and configuration commands). */
export const COMMANDS: readonly Command[] = [
  dev,
  devLogin,
  serve,
  gateway,
  clusterUp,
  keygen,
  ...agentCommands,
  tokenInspect,
  tokenVerify,
  revoke,
  ...budgetCommands,
  ...toolsCommands,
  ...breakerCommands,
  contain,
  ...approvalsCommands,
  ...auditCommands,
  policyValidate,
  coming.get('policy test')!,
  policyReload,
  keysRotate,
  configValidate,
  configSchemaCommand,
];
