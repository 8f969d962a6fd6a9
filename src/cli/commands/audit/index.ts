/** `warrant audit …`: one file per subcommand; what they share is in `shared.ts`. */
import type { Command } from '../../command.ts';
import { auditCheckpoint } from './checkpoint.ts';
import { auditExport } from './export.ts';
import { auditKey } from './key.ts';
import { auditQuery } from './query.ts';
import { auditReconcile } from './reconcile.ts';
import { auditReport } from './report.ts';
import { auditTrace } from './trace.ts';
import { auditVerify } from './verify.ts';
import { auditWho } from './who.ts';

export const auditCommands: readonly Command[] = [
  auditTrace,
  auditWho,
  auditQuery,
  auditVerify,
  auditExport,
  auditKey,
  auditCheckpoint,
  auditReport,
  auditReconcile,
];
