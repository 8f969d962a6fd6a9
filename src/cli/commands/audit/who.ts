/** `warrant audit who`: who authorised one action, with its inclusion proof. */
import { isWarrantError } from '../../../core/errors.ts';
import { printJson } from '../../admin-client.ts';
import { CliError, type Command, EXIT, UsageError } from '../../command.ts';
import {
  givenKeys,
  grantText,
  JSON_OPTION,
  KEY_OPTION,
  LEDGER_OPTIONS,
  notFound,
  trustedKeys,
  withLedger,
} from './shared.ts';

export const auditWho: Command = {
  name: 'audit who',
  summary: 'who authorised one action, with its inclusion proof',
  description:
    'The answer for one recorded action (by its ledger index): the person who authorised it (sub and\n' +
    'issuer), the chain of agents with each link hash, the grant used, the policy version, the decision\n' +
    'and its reasons, the outcome; and an RFC 9162 inclusion proof of the record against the latest signed\n' +
    'checkpoint, verified here. The checkpoint signature is checked with --key, else with the public half\n' +
    'of <data>/ledger-key.jwk when present. Exits 1 when the proof does not verify.',
  options: { key: KEY_OPTION, ...LEDGER_OPTIONS, json: JSON_OPTION },
  positional: { name: '<record>', description: 'the ledger index of the record', required: true },
  examples: [
    'warrant audit who 1742',
    'warrant audit who 1742 --key "warrant.local/ledger+1a2b3c4d+AaBb…" --json',
  ],
  async run(args, io) {
    const text = args.positionals[0]!;
    if (!/^\d{1,15}$/.test(text))
      throw new UsageError(
        `<record> must be a ledger index (a non-negative integer), not ${JSON.stringify(text)}`,
      );
    const index = Number(text);
    givenKeys(args);
    const { whoAuthorised } = await import('../../../ledger/audit/who.ts');
    const { answer, from } = await withLedger(args, async (opened) => {
      const { keys, from } = await trustedKeys(args, opened);
      const answer = await whoAuthorised(opened.source, index, { verifierKeys: keys }).catch((e) => {
        if (isWarrantError(e) && e.code === 'WARRANT_AUDIT_PROOF_INVALID')
          throw new CliError(
            `${e.message} (${e.code})`,
            'The stored ledger is not what was signed: keep it as evidence and verify an export (`warrant audit verify`).',
          );
        return notFound(e, 'Give an index the ledger holds (see `warrant audit query`).');
      });
      return { answer, from };
    });
    if (args.values['json'] === true) {
      printJson(io, answer);
    } else {
      const rows: [string, string][] = [];
      const add = (k: string, v: string | undefined) => {
        if (v !== undefined && v !== '') rows.push([k, v]);
      };
      add('record', `${answer.index} (${answer.kind} ${answer.id})`);
      add('time', answer.time);
      add('person', answer.person ? `${answer.person.sub} (issuer ${answer.person.iss})` : 'not recorded');
      add('decision', answer.decision);
      add('reasons', answer.reasons.join('; '));
      add(
        'action',
        answer.action ? `${answer.action}${answer.resource ? ` on ${answer.resource}` : ''}` : undefined,
      );
      add('caller', answer.caller);
      add('recipient', answer.recipient);
      for (const [i, l] of answer.chain.entries())
        add(i === 0 ? 'chain' : '', `${l.depth}  ${l.actor}  ${l.hash}`);
      add('grant used', answer.used === undefined ? undefined : grantText(answer.used));
      add('policy', answer.policyVersion);
      add(
        'risk',
        answer.risk
          ? `${answer.risk.score} (${answer.risk.factors.map((f) => `${f.name} ${f.points}`).join(', ') || 'no factors'})`
          : undefined,
      );
      add('txn', answer.txn);
      add('task', answer.task);
      add(
        'outcome',
        answer.outcome
          ? `status ${answer.outcome.status ?? '?'}${answer.outcome.latencyMs === undefined ? '' : ` in ${answer.outcome.latencyMs.toFixed(1)} ms`} (record ${answer.outcome.index})`
          : undefined,
      );
      const p = answer.inclusion;
      if (p) {
        add(
          'proof',
          `included in the checkpoint of size ${p.size} of ${p.origin}: ${p.verified ? 'verified' : 'FAILED'}`,
        );
        add('', `root ${p.root}, leaf ${p.leafHash}, ${p.proof.length} sibling hash(es)`);
        add(
          'signature',
          p.signature === 'verified' ? `verified by ${p.verifiedBy.join(', ')} (${from})` : 'not checked',
        );
      } else add('proof', `none: ${answer.unproven}`);
      const width = Math.max(...rows.map(([k]) => k.length)) + 2;
      io.out(`${rows.map(([k, v]) => `${k.padEnd(width)}${v}`).join('\n')}\n`);
    }
    if (answer.inclusion?.signature === 'unchecked')
      io.err(
        'note: the checkpoint signature was not checked (no --key and no ledger-key.jwk in the data directory);\n' +
          'pass --key <the ledger verifier key> to check it.\n',
      );
    return EXIT.ok;
  },
};
