import { JSON_OPTION, printJson } from '../../admin-client.ts';
import { type Command, EXIT, type OptionSpec, UsageError } from '../../command.ts';
import { APPROVAL_ID, APPROVER_OPTIONS, type ApprovalView, approvalId, approvalsRequest } from './shared.ts';

const REASON: OptionSpec = {
  type: 'string',
  value: 'text',
  description: 'why (required; recorded with the decision)',
};

/** `approve` / `deny`: one decision, final, with its reason (and for approve, an optional narrowing). */
function decideCommand(verb: 'approve' | 'deny'): Command {
  const approve = verb === 'approve';
  return {
    name: `approvals ${verb}`,
    summary: approve ? 'approve a pending approval (optionally for less)' : 'deny a pending approval',
    description: approve
      ? 'Approves one pending approval: the agent may then exchange its warrant for one carrying the approval\n' +
        'and make exactly that call, once. --max NAME=N approves less (e.g. a lower amount); --window S\n' +
        'shortens how long the approval stays usable. As an admin for a group; with --id-token-file as the\n' +
        'person it is addressed to.'
      : 'Denies one pending approval; a denied approval stays denied. As an admin for a group; with\n' +
        '--id-token-file as the person it is addressed to.',
    options: {
      ...APPROVER_OPTIONS,
      reason: REASON,
      ...(approve
        ? {
            max: {
              type: 'string',
              value: 'name=n',
              multiple: true,
              description: 'approve at most n for the parameter (max_<name> in the warrant), e.g. amount=200',
            },
            window: {
              type: 'string',
              value: 'seconds',
              description: 'usable for at most this long once approved',
            },
          }
        : {}),
      json: JSON_OPTION,
    },
    positional: APPROVAL_ID,
    examples: approve
      ? [
          'warrant approvals approve 4f0c2a1e-8a2b-4c1d-9e3f-0a1b2c3d4e5f --reason "invoice 1182 checked"',
          'warrant approvals approve 4f0c2a1e-8a2b-4c1d-9e3f-0a1b2c3d4e5f --reason "up to 200" --max amount=200 --window 60',
          'warrant approvals approve 4f0c2a1e-8a2b-4c1d-9e3f-0a1b2c3d4e5f --reason ok --id-token-file id-token.jwt',
        ]
      : ['warrant approvals deny 4f0c2a1e-8a2b-4c1d-9e3f-0a1b2c3d4e5f --reason "not this supplier"'],
    async run(args, io) {
      const id = approvalId(args);
      const reason = args.values['reason'];
      if (typeof reason !== 'string' || reason === '') throw new UsageError('--reason is required');
      const narrow = approve ? narrowing(args.values['max'], args.values['window']) : undefined;
      const decided = await approvalsRequest<ApprovalView>(args, io, 'POST', `/${id}/${verb}`, {
        reason,
        ...(narrow ? { narrow } : {}),
      });
      if (args.values['json'] === true) printJson(io, decided);
      else io.out(`${decided.status} ${decided.id} (${decided.action} for ${decided.caller})\n`);
      return EXIT.ok;
    },
  };
}

function narrowing(max: unknown, window: unknown): Record<string, unknown> | undefined {
  const constraints: Record<string, number> = {};
  for (const entry of (max as readonly string[] | undefined) ?? []) {
    const m = /^([a-z][a-z0-9_]{0,62})=(\d+(?:\.\d+)?)$/.exec(entry);
    if (!m) throw new UsageError(`--max expects name=number (e.g. amount=200), got "${entry.slice(0, 80)}"`);
    constraints[`max_${m[1]}`] = Number(m[2]);
  }
  let windowSeconds: number | undefined;
  if (window !== undefined) {
    if (typeof window !== 'string' || !/^[1-9][0-9]{0,4}$/.test(window))
      throw new UsageError('--window expects a number of seconds (1..86400)');
    windowSeconds = Number(window);
  }
  if (Object.keys(constraints).length === 0 && windowSeconds === undefined) return undefined;
  return {
    ...(Object.keys(constraints).length > 0 ? { constraints } : {}),
    ...(windowSeconds === undefined ? {} : { windowSeconds }),
  };
}

export const approvalsApprove = decideCommand('approve');
export const approvalsDeny = decideCommand('deny');
