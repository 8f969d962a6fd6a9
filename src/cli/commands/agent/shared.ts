import { type AdminClient, adminClient, agentPath } from '../../admin-client.ts';
import { type Io, type ParsedArgs, UsageError } from '../../command.ts';

// What the `warrant agent` subcommands share: the admin API's view of an agent, how it is printed, the
// <name|id> argument and flag readers.

/** What the admin API answers for an agent (src/sts/admin.ts `agentView`). */
export interface AgentView {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly tier: string;
  readonly trustLevel: number;
  readonly allowedAudiences: readonly string[];
  readonly maxDepth: number;
  readonly status: 'active' | 'disabled';
  readonly publicJwk: Record<string, unknown>;
  readonly jkt: string;
  readonly previousKeys: readonly { readonly jkt: string; readonly until: number }[];
  /** The agent's client id at each OpenID provider (issuer → client id). */
  readonly clientIds: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export const AGENT_REF = {
  name: '<name|id>',
  description: 'the agent name (planner) or its SPIFFE ID',
  required: true,
} as const;

/** An integer flag in `min..max`, or a usage error naming the flag. */
export function intFlag(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} expects an integer from ${min} to ${max}`);
  }
  return Number(value);
}

/** A non-empty string flag, or a usage error naming it. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} expects a value`);
  return value;
}

/** Epoch seconds as an ISO 8601 date. */
export const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** The agent as `agent show` and `agent add` print it. */
export function describeAgent(a: AgentView): string {
  const lines = [
    `name        ${a.name}`,
    `id          ${a.id}`,
    `status      ${a.status}`,
    `owner       ${a.owner}`,
    `tier        ${a.tier}`,
    `tier trust  ${a.trustLevel} (the delegation policy's input at exchange)`,
    `max depth   ${a.maxDepth}`,
    `audiences   ${a.allowedAudiences.length === 0 ? '(none)' : a.allowedAudiences.join(', ')}`,
    `key (jkt)   ${a.jkt}`,
  ];
  for (const k of a.previousKeys) lines.push(`previous    ${k.jkt} (accepted until ${iso(k.until)})`);
  const clientIds = Object.entries(a.clientIds ?? {});
  if (clientIds.length === 0) lines.push('client ids  (none: no person ID token can root a warrant for it)');
  for (const [issuer, clientId] of clientIds) lines.push(`client id   ${clientId} at ${issuer}`);
  lines.push(`created     ${iso(a.createdAt)}`, `updated     ${iso(a.updatedAt)}`);
  return `${lines.join('\n')}\n`;
}

/** POST /agents/<ref>/<action>: disable or enable, answered with the agent and how many tokens were revoked. */
export async function agentAction(
  args: ParsedArgs,
  io: Io,
  action: 'disable' | 'enable',
): Promise<{ client: AdminClient; result: { agent: AgentView; revoked: number } }> {
  const client = adminClient(args, io);
  const result = await client.request<{ agent: AgentView; revoked: number }>(
    'POST',
    agentPath(args.positionals[0]!, action),
  );
  return { client, result };
}

/** What the guard answers for an agent's standing (src/guard/trust/trust-levels.ts `TrustView`). */
export interface TrustView {
  readonly agent: string;
  readonly level: number;
  readonly maxLevel: number;
  readonly pinned: boolean;
  readonly record?: {
    readonly since: number;
    readonly clean: number;
    readonly denials: number;
    readonly failures: number;
  };
  readonly promotion: { readonly calls: number; readonly minSeconds: number };
  readonly history: readonly {
    readonly time: number;
    readonly from: number | null;
    readonly to: number | null;
    readonly actor: string;
    readonly reason: string;
  }[];
}

/** The guard's standing of an agent as `agent show` and `agent trust` print it (at most `recent` changes). */
export function describeTrust(t: TrustView, recent = 5): string {
  const lines = [`trust level ${t.level} of ${t.maxLevel}${t.pinned ? ' (pinned by an operator)' : ''}`];
  const r = t.record;
  if (r === undefined) lines.push('record      (not seen by the gateway yet)');
  else
    lines.push(
      `record      ${r.clean} clean calls since ${iso(r.since)} (promotion after ${t.promotion.calls} over ${t.promotion.minSeconds} s); ${r.denials} denials, ${r.failures} failures in the window`,
    );
  for (const c of t.history.slice(0, recent))
    lines.push(`history     ${iso(c.time)} ${c.from ?? '?'} -> ${c.to ?? '?'} by ${c.actor}: ${c.reason}`);
  if (t.history.length === 0) lines.push('history     (no change yet)');
  return `${lines.join('\n')}\n`;
}
