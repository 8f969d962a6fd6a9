import { readFileSync } from 'node:fs';
import { MAX_CHAIN_LINKS, type VerifiedChain, verifyChain } from '../../core/chain/index.ts';
import { ChainError, type ErrorCode, isWarrantError, type WarrantError } from '../../core/errors.ts';
import type { Grant } from '../../core/grants/index.ts';
import { MAX_COMPACT_LENGTH, parseCompact } from '../../core/jose/jws.ts';
import { KeySet } from '../../core/jose/key-set.ts';
import {
  type IdentityClaims,
  type TokenKind,
  TYP,
  type VerifiedToken,
  verifyToken,
  type WarrantClaims,
} from '../../core/tokens/index.ts';
import { CliError, type Command, EXIT, type Io, UsageError } from '../command.ts';
import { readStdin } from '../read-stdin.ts';

const KIND_BY_TYP = new Map<string, TokenKind>(
  Object.entries(TYP).map(([kind, typ]) => [typ, kind as TokenKind]),
);

export const tokenVerify: Command = {
  name: 'token verify',
  summary: 'verify a warrant or a whole chain offline',
  description:
    'Verifies a token, or with --chain a whole Warrant-Chain (root, hop1, …, leaf: the value of the\n' +
    'Warrant-Chain header), against the keys of the STS (--jwks: its JWKS URL or a JWKS file). Checks\n' +
    'signatures, token kind, claims, times, and for a chain every link: prev/root hashes, actors, depth,\n' +
    'narrowing grants and shrinking lifetimes. The kind of a single token (warrant, identity or status list)\n' +
    'comes from its typ. Prints the person, actors, txn, grants, expiry and hashes; on failure,\n' +
    'the stable error code and the index of the failing link, and exits 1. Revocation is not checked\n' +
    '(that needs the STS: the gateway does it). Pass - to read the token or chain from standard input.',
  options: {
    chain: { type: 'boolean', description: 'the argument is a Warrant-Chain (comma-separated, root first)' },
    jwks: {
      type: 'string',
      value: 'url|file',
      description: 'the STS keys: a JWKS URL (http://127.0.0.1:8080/jwks) or file (required)',
    },
    issuer: {
      type: 'string',
      value: 'iss',
      description: "require this issuer (default: the token's own iss, checked against --jwks only)",
    },
    audience: {
      type: 'string',
      value: 'aud',
      description: 'require this audience (of the leaf, for a chain)',
    },
    json: {
      type: 'boolean',
      description: 'print {valid: true, …} or {valid: false, code, link, message} as JSON',
    },
  },
  positional: {
    name: '<token|->',
    description: 'the token (or with --chain the chain), or - for standard input',
    required: true,
  },
  examples: [
    'warrant token verify --chain "$WARRANT_CHAIN" --jwks http://127.0.0.1:8080/jwks',
    'cat warrant.jwt | warrant token verify - --jwks jwks.json --audience https://tools.example.org/crm --json',
  ],
  async run({ values, positionals }, io) {
    const jwksSource = values['jwks'];
    if (typeof jwksSource !== 'string' || jwksSource === '') {
      throw new UsageError(
        '--jwks <url|file> is required (the JWKS of the STS, e.g. http://127.0.0.1:8080/jwks)',
      );
    }
    for (const flag of ['issuer', 'audience'] as const) {
      if (values[flag] === '') throw new UsageError(`--${flag} expects a value`);
    }
    const chainMode = values['chain'] === true;
    const raw =
      positionals[0] === '-'
        ? await readStdin(
            io,
            MAX_CHAIN_LINKS * (MAX_COMPACT_LENGTH + 2),
            chainMode ? 'one chain' : 'one token',
          )
        : positionals[0]!;
    const input = raw.trim().replace(/^warrant-chain:\s*/i, '');
    if (input === '') throw new UsageError('the token is empty');
    if (!chainMode && input.includes(',')) {
      throw new UsageError('this looks like a Warrant-Chain (tokens separated by commas): pass --chain');
    }
    const keys = await loadJwks(jwksSource);
    const json = values['json'] === true;
    const issuer = values['issuer'] as string | undefined;
    const audience = values['audience'] as string | undefined;
    try {
      if (chainMode) {
        const links = input.split(',').map((l) => l.trim());
        const chain = verifyChain(links, {
          keys: keys.resolve,
          issuer: issuer ?? issuerOf(links[0]!),
          ...(audience === undefined ? {} : { audience }),
        });
        if (json) printJson(io, chainJson(chain));
        else io.out(describeChain(chain, issuer !== undefined));
      } else {
        const kind = kindOf(input);
        const token = verifyToken(kind, input, {
          keys: keys.resolve,
          ...(issuer === undefined ? {} : { issuer }),
          ...(audience === undefined ? {} : { audience }),
        });
        if (json)
          printJson(io, { valid: true, kind, hash: token.hash, kid: token.kid, claims: token.claims });
        else io.out(describeToken(token, issuer !== undefined));
      }
      return EXIT.ok;
    } catch (error) {
      if (!isWarrantError(error)) throw error;
      throw rejected(error, json, io, chainMode ? input.split(',').length : 1);
    }
  },
};

function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** The `iss` of a token, read without verifying (only to default --issuer; the keys decide trust). */
function issuerOf(compact: string): string {
  try {
    const iss = parseCompact(compact).claims['iss'];
    return typeof iss === 'string' ? iss : '';
  } catch {
    return ''; // verifyChain reports the malformed root as link 0
  }
}

/** The token kind named by the `typ` header; an unknown `typ` fails like a mismatch would. */
function kindOf(compact: string): TokenKind {
  const typ = parseCompact(compact).header['typ'];
  const kind = typeof typ === 'string' ? KIND_BY_TYP.get(typ) : undefined;
  if (kind === undefined) {
    throw new CliError(
      `not a Warrant token: typ is ${typeof typ === 'string' ? JSON.stringify(typ.slice(0, 40)) : 'missing'} ` +
        '(WARRANT_TOKEN_TYPE_MISMATCH)',
      `Warrant tokens have typ ${Object.values(TYP).join(', ')}. Decode it with \`warrant token inspect\`.`,
    );
  }
  return kind;
}

async function loadJwks(source: string): Promise<KeySet> {
  let document: unknown;
  if (/^https?:\/\//i.test(source)) {
    let response: Response;
    try {
      response = await fetch(source, {
        signal: AbortSignal.timeout(15_000),
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new CliError(
        `cannot fetch the JWKS from ${source} (${code})`,
        'Is the STS running (`warrant dev`)? Check the URL, or pass a saved JWKS file with --jwks.',
      );
    }
    if (!response.ok) {
      throw new CliError(
        `${source} answered HTTP ${response.status}`,
        'Pass the JWKS URL of the STS: <sts url>/jwks (also at /.well-known/jwks.json).',
      );
    }
    try {
      document = await response.json();
    } catch {
      throw new CliError(`${source} did not answer JSON`, 'Pass the JWKS URL of the STS: <sts url>/jwks.');
    }
  } else {
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new CliError(
        `cannot read the JWKS file ${source} (${code})`,
        'Pass a JWKS file, or the JWKS URL of the STS (http://…/jwks).',
      );
    }
    try {
      document = JSON.parse(text);
    } catch {
      throw new CliError(
        `${source} is not JSON`,
        'Save the JWKS of the STS (curl <sts url>/jwks) and pass that file.',
      );
    }
  }
  // One public JWK on its own is accepted as a set of one.
  if (typeof document === 'object' && document !== null && 'kty' in document) document = { keys: [document] };
  try {
    return KeySet.fromJwks(document);
  } catch (error) {
    if (!isWarrantError(error)) throw error;
    throw new CliError(
      `${source} is not a usable JWKS: ${error.message} (${error.code})`,
      'Pass the JWKS of the STS ({"keys": [...]}, public Ed25519 or P-256 keys).',
    );
  }
}

function hintFor(code: ErrorCode): string {
  switch (code) {
    case 'WARRANT_JWS_SIGNATURE_INVALID':
    case 'WARRANT_KEY_UNKNOWN':
      return 'The token was altered, or --jwks is not the JWKS of the STS that issued it (a key rotated out of the JWKS no longer verifies).';
    case 'WARRANT_TOKEN_EXPIRED':
      return 'The token has expired: the agent must get a new one from the STS.';
    case 'WARRANT_TOKEN_NOT_YET_VALID':
      return 'The token is not valid yet: check the clocks of this machine and of the STS.';
    case 'WARRANT_ISSUER_MISMATCH':
      return 'The token comes from another issuer than --issuer: check --issuer (the STS URL) and --jwks.';
    case 'WARRANT_AUDIENCE_MISMATCH':
      return 'The token is for another recipient than --audience: check --audience.';
    case 'WARRANT_TOKEN_TYPE_MISMATCH':
      return 'A chain holds warrants only (typ warrant+jwt); verify other tokens without --chain.';
    case 'WARRANT_JWS_MALFORMED':
    case 'WARRANT_CHAIN_MALFORMED':
      return 'Pass the compact JWS (or with --chain the Warrant-Chain header value: root first, separated by commas).';
    default:
      return code.startsWith('WARRANT_CHAIN_')
        ? 'The chain was altered or assembled wrongly: links go root first, each one the exchange of the link before.'
        : 'See docs/errors.md for the code; decode the token with `warrant token inspect` to look at it.';
  }
}

function rejected(error: WarrantError, json: boolean, io: Io, links: number): CliError {
  const link = error instanceof ChainError ? error.link : undefined;
  const reason = error.message.replace(/^link \d+: /, '');
  if (json)
    printJson(io, {
      valid: false,
      code: error.code,
      ...(link === undefined ? {} : { link }),
      message: reason,
    });
  const where =
    link === undefined ? 'token rejected' : `chain rejected at link ${link} (of ${links}, root = 0)`;
  return new CliError(`${where}: ${reason} (${error.code})`, hintFor(error.code));
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

function relative(exp: number): string {
  const delta = exp - Math.floor(Date.now() / 1000);
  const span = Math.abs(delta);
  const text =
    span < 120
      ? `${span}s`
      : span < 7200
        ? `${Math.floor(span / 60)}m`
        : span < 172_800
          ? `${Math.floor(span / 3600)}h`
          : `${Math.floor(span / 86_400)}d`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

function grantLines(grants: readonly Grant[]): string[] {
  if (grants.length === 0) return ['(none)'];
  return grants.map(
    (g) => `${g.action} on ${g.resource}${g.constraints ? ` ${JSON.stringify(g.constraints)}` : ''}`,
  );
}

const pinned = (issuer: string, pinnedFlag: boolean) =>
  pinnedFlag ? issuer : `${issuer} (not pinned: pass --issuer to require it)`;

function describeChain(chain: VerifiedChain, issuerPinned: boolean): string {
  const leaf = chain.leaf.claims;
  const grants = grantLines(leaf.grants);
  const lines = [
    `valid: chain of ${chain.links.length} link(s); signatures, times and links checked (revocation not checked)`,
    `issuer    ${pinned(leaf.iss, issuerPinned)}`,
    `person    ${chain.person.sub} (authenticated by ${chain.person.iss})`,
    `actors    ${chain.actors.join(' -> ')}`,
    `audience  ${leaf.aud}`,
    `txn       ${chain.txn}`,
    ...(chain.root.claims.task === undefined ? [] : [`task      ${chain.root.claims.task}`]),
    `grants    ${grants.join('\n          ')}`,
    `expires   ${iso(chain.exp)} (${relative(chain.exp)})`,
    `digest    ${chain.digest}`,
    'links',
    ...chain.links.map((l, i) => `  ${i}  ${l.hash}  depth ${l.claims.depth}  aud ${l.claims.aud}`),
  ];
  return `${lines.join('\n')}\n`;
}

function chainJson(chain: VerifiedChain): Record<string, unknown> {
  const leaf = chain.leaf.claims;
  return {
    valid: true,
    kind: 'chain',
    issuer: leaf.iss,
    person: chain.person,
    actors: chain.actors,
    audience: leaf.aud,
    txn: chain.txn,
    grants: leaf.grants,
    exp: chain.exp,
    digest: chain.digest,
    links: chain.links.map((l) => ({
      hash: l.hash,
      depth: l.claims.depth,
      aud: l.claims.aud,
      exp: l.claims.exp,
    })),
  };
}

function describeToken(token: VerifiedToken<TokenKind>, issuerPinned: boolean): string {
  const head = `valid: ${token.kind} token (${TYP[token.kind]}); signature, claims and times checked (revocation not checked)`;
  const claims = token.claims as { iss: string; exp?: number };
  const lines = [head, `issuer    ${pinned(claims.iss, issuerPinned)}`];
  if (token.kind === 'warrant') {
    const w = token.claims as WarrantClaims;
    const actors: string[] = [];
    for (let a: WarrantClaims['act'] | undefined = w.act; a; a = a.act) actors.unshift(a.sub);
    lines.push(
      `person    ${w.sub} (authenticated by ${w.sub_iss})`,
      `actors    ${actors.join(' -> ')}`,
      `audience  ${w.aud}`,
      `txn       ${w.txn}`,
      `grants    ${grantLines(w.grants).join('\n          ')}`,
      `depth     ${w.depth} of ${w.max_depth}`,
      `holder    ${w.cnf.jkt} (cnf.jkt)`,
    );
  } else if (token.kind === 'identity') {
    const t = token.claims as IdentityClaims;
    lines.push(
      `agent     ${t.sub} (tier ${t.tier})`,
      `audience  ${typeof t.aud === 'string' ? t.aud : t.aud.join(', ')}`,
      `holder    ${t.cnf.jkt} (cnf.jkt)`,
    );
  } else {
    lines.push(`claims    ${JSON.stringify(token.claims)}`);
  }
  if (claims.exp !== undefined) lines.push(`expires   ${iso(claims.exp)} (${relative(claims.exp)})`);
  lines.push(`hash      ${token.hash}`);
  if (token.kind === 'warrant' && (token.claims as WarrantClaims).depth > 0) {
    lines.push(
      `note      this warrant is link ${(token.claims as WarrantClaims).depth} of a chain: only this link was checked; ` +
        'verify the whole Warrant-Chain with --chain',
    );
  }
  return `${lines.join('\n')}\n`;
}
