import { isWarrantError } from '../../core/errors.ts';
import { tokenHash } from '../../core/jose/hash.ts';
import { type ParsedJws, parseCompact } from '../../core/jose/jws.ts';
import { CliError, type Command, EXIT } from '../command.ts';
import { readStdin } from '../read-stdin.ts';

const NOT_VERIFIED =
  'decoded only, NOT verified: signature, issuer, lifetime and revocation were not checked';

export const tokenInspect: Command = {
  name: 'token inspect',
  summary: 'decode a token (header, claims, token hash) without verifying it',
  description:
    'Decodes a compact JWS (a warrant, identity token or status list) and prints its header,\n' +
    'its claims and its token hash (SHA-256 of the exact token, base64url: the id used in the ledger and\n' +
    'by `warrant revoke`). Nothing is verified. Pass - to read the token from standard input, which keeps\n' +
    'it out of your shell history.',
  options: {
    json: { type: 'boolean', description: 'print {verified: false, hash, header, claims} as JSON' },
  },
  positional: { name: '<token|->', description: 'the compact JWS, or - for standard input', required: true },
  examples: [
    'warrant token inspect "$(cat warrant.jwt)"',
    'cat warrant.jwt | warrant token inspect - --json',
  ],
  async run({ values, positionals }, io) {
    const raw = positionals[0] === '-' ? await readStdin(io) : positionals[0]!;
    const compact = raw.trim();
    if (compact.includes(',')) {
      throw new CliError(
        'this looks like a Warrant-Chain (tokens separated by commas), not one token',
        'Inspect one link at a time: warrant token inspect <link>.',
      );
    }
    let parsed: ParsedJws;
    try {
      parsed = parseCompact(compact, { payload: 'json' });
    } catch (error) {
      if (!isWarrantError(error)) throw error;
      throw new CliError(
        `cannot decode the token: ${error.message}`,
        'Pass one compact JWS (three base64url parts separated by dots), or - to read it from standard input.',
        { cause: error },
      );
    }
    const hash = tokenHash(compact);
    if (values['json'] === true) {
      io.out(
        `${JSON.stringify({ verified: false, hash, header: parsed.header, claims: parsed.claims }, null, 2)}\n`,
      );
      return EXIT.ok;
    }
    const lines = [
      NOT_VERIFIED,
      `hash    ${hash}`,
      `header  ${JSON.stringify(parsed.header)}`,
      `claims  ${JSON.stringify(parsed.claims, null, 2).replaceAll('\n', '\n        ')}`,
    ];
    const times = describeTimes(parsed.claims, Math.floor(Date.now() / 1000));
    if (times) lines.push(`times   ${times}`);
    io.out(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};

function describeTimes(claims: Readonly<Record<string, unknown>>, now: number): string | undefined {
  const parts: string[] = [];
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    const value = claims[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const date = new Date(value * 1000);
    if (Number.isNaN(date.getTime())) continue;
    let text = `${name} ${date.toISOString()}`;
    if (name === 'exp')
      text += value <= now ? ` (expired ${span(now - value)} ago)` : ` (expires in ${span(value - now)})`;
    parts.push(text);
  }
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function span(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
