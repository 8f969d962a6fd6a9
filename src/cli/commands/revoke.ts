import { tokenHash } from '../../core/jose/hash.ts';
import { ADMIN_OPTIONS, adminClient, agentPath, printJson } from '../admin-client.ts';
import { type Command, EXIT, UsageError } from '../command.ts';
import { readStdin } from '../read-stdin.ts';

const HASH = /^[A-Za-z0-9_-]{43}$/;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;

export const revoke: Command = {
  name: 'revoke',
  summary: 'revoke a token and its descendants, or by --txn/--agent/--person',
  description:
    'Revokes a warrant by its token hash, and every warrant derived from it; or everything of one\n' +
    'transaction (--txn), one agent (--agent: a name or SPIFFE ID, every token it holds or passed on) or\n' +
    'one person (--person: the subject at the root of the chains). Give exactly one of them.\n' +
    'Instead of a hash you may give the token itself (or - to read it from standard input): its hash is\n' +
    'computed here and only the hash is sent. `warrant token inspect` prints the hash of a token.',
  options: {
    txn: { type: 'string', value: 'txn', description: 'revoke every token of this transaction' },
    agent: {
      type: 'string',
      value: 'name|id',
      description: 'revoke every token this agent holds or passed on',
    },
    person: {
      type: 'string',
      value: 'sub',
      description: 'revoke every warrant issued on behalf of this person',
    },
    reason: { type: 'string', value: 'text', description: 'why, kept with the revocation (default "admin")' },
    ...ADMIN_OPTIONS,
    json: { type: 'boolean', description: 'print {revoked, hashes} as JSON' },
  },
  positional: {
    name: '<token-hash|token|->',
    description: 'the token hash, the token itself, or - to read the token from standard input',
    required: false,
  },
  examples: [
    'warrant revoke --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41 --reason "task aborted"',
    'warrant revoke Qk3vZ8ylHjP0dXcN2eTqB5wYtR9uA7sKmF1gL4oI6nE --reason leaked',
    'cat warrant.jwt | warrant revoke -',
  ],
  async run(args, io) {
    const given = (['txn', 'agent', 'person'] as const).filter((k) => args.values[k] !== undefined);
    const positional = args.positionals[0];
    const count = given.length + (positional === undefined ? 0 : 1);
    if (count !== 1) {
      throw new UsageError(
        count === 0
          ? 'say what to revoke: a token hash, --txn, --agent or --person'
          : 'give exactly one of a token hash, --txn, --agent and --person',
      );
    }
    const reason = args.values['reason'];
    if (reason === '') throw new UsageError('--reason expects a text');
    for (const k of given) if (args.values[k] === '') throw new UsageError(`--${k} expects a value`);

    let body: Record<string, string>;
    let what: string;
    if (positional !== undefined) {
      const hash = hashOf(positional === '-' ? (await readStdin(io)).trim() : positional.trim());
      body = { hash };
      what = `token ${hash}`;
    } else if (given[0] === 'txn') {
      body = { txn: args.values['txn'] as string };
      what = `transaction ${body['txn']}`;
    } else if (given[0] === 'person') {
      body = { person: args.values['person'] as string };
      what = `person ${body['person']}`;
    } else {
      body = { agent: args.values['agent'] as string };
      what = `agent ${body['agent']}`;
    }
    const client = adminClient(args, io);
    if (body['agent'] !== undefined && !body['agent'].startsWith('spiffe://')) {
      // The API takes the agent's SPIFFE ID; a name is resolved first (and an unknown name is an error).
      const agent = await client.request<{ id: string }>('GET', agentPath(body['agent']));
      body = { agent: agent.id };
    }
    const result = await client.request<{ revoked: number; hashes: string[] }>('POST', '/revoke', {
      ...body,
      ...(typeof reason === 'string' ? { reason } : {}),
    });
    if (args.values['json'] === true) {
      printJson(io, result);
      return EXIT.ok;
    }
    io.out(`revoked ${result.revoked} token(s) for ${what}\n`);
    for (const hash of result.hashes) io.out(`  ${hash}\n`);
    if (result.revoked === 0) {
      io.err('nothing was live to revoke (already revoked, expired, or unknown to this STS)\n');
    }
    return EXIT.ok;
  },
};

/** A token hash as given, or the hash of a compact JWS computed here (the token never leaves this process). */
function hashOf(value: string): string {
  if (HASH.test(value)) return value;
  if (COMPACT.test(value)) return tokenHash(value);
  if (value.includes(',')) {
    throw new UsageError(
      'this looks like a Warrant-Chain: revoke its root (or one link) by hash, or use --txn',
    );
  }
  throw new UsageError(
    'expected a token hash (43 base64url characters, see `warrant token inspect`) or a compact token',
  );
}
