import { tokenHash } from '../../core/jose/hash.ts';
import type { ContainedAction, ContainPlan, ContainResult, ContainStep } from '../../guard/contain/types.ts';
import { ADMIN_OPTIONS, adminClient, printJson } from '../admin-client.ts';
import { CliError, type Command, EXIT, type Io, UsageError } from '../command.ts';
import { readStdin } from '../read-stdin.ts';

const HASH = /^[A-Za-z0-9_-]{43}$/;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;
const SELECTORS = ['txn', 'agent', 'person', 'warrant'] as const;

export const contain: Command = {
  name: 'contain',
  summary: 'revoke a cascade, trip its breakers, roll back what can be undone',
  description:
    'Contains one warrant and its subtree (--warrant), a transaction (--txn), an agent (--agent: a name or\n' +
    'SPIFFE ID) or a person (--person): revokes every warrant under it and every descendant (gateways\n' +
    'refuse them within their staleness bound), trips the breakers involved, lists every action taken\n' +
    'under it from the ledger with its reversibility, runs the registered compensations of reversible\n' +
    'actions newest first, and lists what a person must handle (irreversible actions, and those without a\n' +
    'compensation). Every step is recorded in the ledger.\n' +
    '\n' +
    'Running it again resumes: it completes what remains and never compensates an action twice (each\n' +
    'compensation carries an Idempotency-Key derived from the original decision, the same on every\n' +
    'attempt). --dry-run prints exactly the plan and changes nothing. Exits 1 when a compensation failed\n' +
    '(run it again to retry), 0 otherwise.',
  options: {
    txn: {
      type: 'string',
      value: 'txn',
      description: 'contain every warrant and action of this transaction',
    },
    agent: { type: 'string', value: 'name|id', description: 'contain every chain this agent is in' },
    person: { type: 'string', value: 'sub', description: 'contain everything done on behalf of this person' },
    warrant: {
      type: 'string',
      value: 'hash|token|-',
      description: 'contain this warrant and its subtree (a token hash, the token, or - for stdin)',
    },
    'dry-run': { type: 'boolean', description: 'print the plan only; change nothing' },
    json: { type: 'boolean', description: 'print the plan or the result as JSON (no progress lines)' },
    ...ADMIN_OPTIONS,
  },
  examples: [
    'warrant contain --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41 --dry-run',
    'warrant contain --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41',
    'warrant contain --agent executor --json',
    'warrant contain --warrant Qk3vZ8ylHjP0dXcN2eTqB5wYtR9uA7sKmF1gL4oI6nE',
    'warrant contain --person alice@example.org --dry-run --json',
  ],
  async run(args, io) {
    const given = SELECTORS.filter((k) => args.values[k] !== undefined);
    if (given.length !== 1) {
      throw new UsageError(
        given.length === 0
          ? 'say what to contain: --txn, --agent, --person or --warrant'
          : 'give exactly one of --txn, --agent, --person and --warrant',
      );
    }
    const key = given[0]!;
    let value = args.values[key] as string;
    if (value === '') throw new UsageError(`--${key} expects a value`);
    if (key === 'warrant') value = hashOf(value === '-' ? (await readStdin(io)).trim() : value.trim());
    const dryRun = args.values['dry-run'] === true;
    const json = args.values['json'] === true;
    const client = adminClient(args, io);
    const body = { [key]: value, dryRun };
    if (dryRun) {
      const answer = await client.request<{ plan: ContainPlan }>('POST', '/contain', body);
      if (json) printJson(io, { dryRun: true, plan: answer.plan });
      else printPlan(io, answer.plan, true);
      return EXIT.ok;
    }
    let result: ContainResult | undefined;
    let failure: { code?: unknown; message?: unknown } | undefined;
    let started = false;
    await client.stream('/contain', body, (line) => {
      if (!json && !started) io.out(`containing ${key} ${value}\n`);
      started = true;
      if (line['event'] === 'step') {
        if (!json) io.out(`  ${stepLine(line as unknown as ContainStep)}\n`);
      } else if (line['event'] === 'result') {
        const { event: _, ...rest } = line;
        result = rest as unknown as ContainResult;
      } else if (line['event'] === 'error') {
        failure = line;
      }
    });
    if (result === undefined) {
      throw new CliError(
        `the containment stopped part way: ${String(failure?.message ?? 'no result')} (${String(failure?.code ?? 'unknown')})`,
        'Run the same command again: it resumes and never compensates an action twice.',
      );
    }
    if (json) printJson(io, result);
    else printSummary(io, result);
    return result.summary.failed > 0 ? EXIT.failure : EXIT.ok;
  },
};

function stepLine(step: ContainStep): string {
  const d = step.detail as Record<string, unknown>;
  switch (step.step) {
    case 'revoke':
      return `revoked ${String(d['revoked'])} warrant(s) (with every descendant)`;
    case 'breaker': {
      const what = d['txn'] !== undefined ? `txn ${String(d['txn'])}` : `agent ${String(d['agent'])}`;
      if (step.outcome === 'done') return `tripped the breaker of ${what}`;
      return `breaker of ${what}: not tripped (${String(d['reason'] ?? d['error'] ?? step.outcome)})`;
    }
    case 'compensate': {
      const call = d['method'] ? `${String(d['method'])} ${String(d['url'])}` : '';
      if (step.outcome === 'done')
        return `compensated ${step.action} ${step.decisionId}: ${call} → ${String(d['status'])}`;
      if (step.outcome === 'skipped')
        return `skipped ${step.action} ${step.decisionId}: ${String(d['reason'])}`;
      return `FAILED to compensate ${step.action} ${step.decisionId}: ${call} → ${String(d['status'] ?? d['error'])}`;
    }
    case 'manual':
      return `for a person: ${step.action} ${step.decisionId} (${String(d['note'])})`;
  }
}

function actionLine(a: ContainedAction): string {
  const head = `${a.time} ${a.action} by ${a.caller} [${a.reversibility}] ${a.decisionId}`;
  if (a.handling === 'compensate')
    return `${head}\n      compensate: ${a.compensation!.method} ${a.compensation!.url}`;
  if (a.handling === 'compensated') return `${head}\n      already compensated (${a.note ?? ''})`;
  return `${head}\n      for a person: ${a.note ?? ''}`;
}

function printPlan(io: Io, plan: ContainPlan, dryRun: boolean): void {
  io.out(`${dryRun ? 'plan (dry run: nothing was changed)' : 'plan'}\n`);
  io.out(`  revoke: ${plan.revoke.live} live warrant(s) and every descendant\n`);
  for (const b of plan.breakers)
    io.out(`  trip breaker: ${b.txn !== undefined ? `txn ${b.txn}` : `agent ${b.agent}`}\n`);
  io.out(`  actions under it: ${plan.actions.length} (oldest first)\n`);
  for (const a of plan.actions) io.out(`    ${actionLine(a)}\n`);
  io.out(`  compensations, in this order (newest first): ${plan.compensationOrder.length}\n`);
  for (const id of plan.compensationOrder) io.out(`    ${id}\n`);
}

function printSummary(io: Io, r: ContainResult): void {
  const s = r.summary;
  io.out(
    `done (run ${r.run}): revoked ${r.revoked}, compensated ${s.compensated}, already compensated ${s.alreadyCompensated}, ` +
      `failed ${s.failed}, for a person ${s.manual}, breakers tripped ${s.breakersTripped}` +
      (s.breakersUnavailable > 0 ? ` (${s.breakersUnavailable} not tripped)` : '') +
      '\n',
  );
  if (s.failed > 0) io.err('some compensations failed: run the same command again to retry them\n');
}

function hashOf(value: string): string {
  if (HASH.test(value)) return value;
  if (COMPACT.test(value)) return tokenHash(value);
  throw new UsageError('--warrant expects a token hash (43 base64url characters), a compact token, or -');
}
