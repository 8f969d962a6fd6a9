import { readFileSync } from 'node:fs';
import { ADMIN_OPTIONS, AdminApiError, adminClient, stsUrl } from '../../admin-client.ts';
import { CliError, type Io, type OptionSpec, type ParsedArgs, UsageError } from '../../command.ts';

/** An approval as the API shows it (src/guard/approvals/decide.ts approvalView). */
export interface ApprovalView {
  readonly id: string;
  readonly status: string;
  readonly person: { readonly sub: string; readonly iss: string };
  readonly caller: string;
  readonly chain: readonly string[];
  readonly txn: string;
  readonly action: string;
  readonly resource: string;
  readonly parameters: unknown;
  readonly digest: string;
  readonly risk: number;
  readonly bound: number;
  readonly factors: readonly { name: string; input?: unknown; weight?: number; points: number }[];
  readonly addressed_to: string;
  readonly created_at: number;
  readonly expires_at: number;
  readonly decided_by?: string;
  readonly decided_at?: number;
  readonly reason?: string;
  readonly narrow?: unknown;
  readonly use_by?: number;
  readonly used_at?: number;
}

export const APPROVAL_ID = {
  name: '<id>',
  description: 'the approval id (from the refusal or `warrant approvals list`)',
  required: true,
} as const;

/** The flags of the commands that read or decide approvals. */
export const APPROVER_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.freeze({
  ...ADMIN_OPTIONS,
  'id-token-file': {
    type: 'string',
    value: 'path',
    description:
      'act as the person an approval is addressed to, with their ID token from the trusted OIDC issuer (default: the admin credential, acting for a group)',
  },
});

/** Approval ids are UUIDs; anything else never reaches the URL. */
export function approvalId(args: ParsedArgs): string {
  const id = args.positionals[0]!;
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new UsageError(`"${id.slice(0, 80)}" is not an approval id`);
  return id;
}

/**
 * A request to the approvals API: as the person (`--id-token-file`: `/approvals…` with their ID token) or as
 * an admin (`/admin/approvals…`).
 */
export async function approvalsRequest<T>(
  args: ParsedArgs,
  io: Io,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const file = args.values['id-token-file'];
  if (typeof file !== 'string') return adminClient(args, io).request<T>(method, `/approvals${path}`, body);
  const url = stsUrl(args, io);
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new CliError(
      `cannot read the ID token file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      'Pass the path of a file holding your ID token (one line).',
    );
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(token))
    throw new CliError(`${file} does not hold a compact JWT`, 'Put exactly your ID token there (one line).');
  let response: Response;
  try {
    response = await fetch(`${url}/approvals${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
      redirect: 'error',
    });
  } catch {
    throw new CliError(
      `cannot reach the STS at ${url}`,
      'Is it running? Pass --url <sts url> or set $WARRANT_URL.',
    );
  }
  const json = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok) {
    const code = typeof json?.['code'] === 'string' ? json['code'] : undefined;
    const description =
      typeof json?.['error_description'] === 'string' ? json['error_description'] : `HTTP ${response.status}`;
    throw new AdminApiError(
      response.status,
      code,
      `${description}${code ? ` (${code})` : ''}`,
      code === 'WARRANT_APPROVER_AUTH_FAILED'
        ? 'Sign in again at your identity provider and save the fresh ID token to the file.'
        : 'See docs/errors.md for the code.',
    );
  }
  return json as T;
}

const time = (s: number | undefined) => (s === undefined ? '—' : new Date(s * 1000).toISOString());

/** One approval in words: what was asked, by whom, how risky, and what became of it. */
export function describeApproval(a: ApprovalView): string {
  const lines = [
    `approval   ${a.id}`,
    `status     ${a.status}`,
    `action     ${a.action} on ${a.resource}`,
    `caller     ${a.caller}`,
    `for        ${a.person.sub} (${a.person.iss})`,
    `chain      ${a.chain.join(' → ')}`,
    `txn        ${a.txn}`,
    `risk       ${a.risk} above bound ${a.bound}: ${a.factors
      .filter((f) => f.points !== 0)
      .map((f) => `${f.name} ${f.points > 0 ? '+' : ''}${f.points}`)
      .join(', ')}`,
    `call       ${JSON.stringify(a.parameters)}`,
    `digest     ${a.digest}`,
    `addressed  ${a.addressed_to}`,
    `created    ${time(a.created_at)}`,
    `expires    ${time(a.expires_at)}`,
  ];
  if (a.decided_by !== undefined)
    lines.push(`decided    ${a.decided_by} at ${time(a.decided_at)}: ${a.reason ?? ''}`);
  if (a.narrow !== undefined) lines.push(`narrowed   ${JSON.stringify(a.narrow)}`);
  if (a.use_by !== undefined) lines.push(`usable to  ${time(a.use_by)}`);
  if (a.used_at !== undefined) lines.push(`used       ${time(a.used_at)}`);
  return `${lines.join('\n')}\n`;
}
