/** What the `warrant tools …` commands share: the flags, the admin API's answers, and how they are printed. */
import type { OptionSpec, ParsedArgs } from '../../command.ts';
import { UsageError } from '../../command.ts';

export const ROUTE_OPTION: OptionSpec = {
  type: 'string',
  value: 'route',
  description: 'the route: its path prefix (e.g. /mcp), host/prefix for a route selected by host',
};
export const TOOL_OPTION: OptionSpec = {
  type: 'string',
  value: 'tool',
  description: 'the tool name (A2A: the skill id)',
};
export const REASON_OPTION: OptionSpec = {
  type: 'string',
  value: 'text',
  description: 'why (recorded in the guard change history)',
};

export interface PinView {
  readonly route: string;
  readonly tool: string;
  readonly status: 'approved' | 'quarantined' | 'pending';
  readonly digest?: string;
  readonly seenDigest: string;
  readonly seenDefinition: Record<string, unknown>;
  readonly recheck: boolean;
}

export interface DriftView {
  readonly tool: string;
  readonly oldDigest: string;
  readonly newDigest: string;
  readonly changed: readonly string[];
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export interface ToolsView {
  readonly route: string;
  readonly pinning?: string;
  readonly items: readonly PinView[];
  readonly drift: readonly DriftView[];
}

/** A required string flag. */
export function required(args: ParsedArgs, name: string): string {
  const v = args.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** A digest shortened for a table: `sha256:` and the first 16 hex digits. */
const short = (digest: string | undefined) => (digest === undefined ? '-' : digest.slice(0, 23));

/** The listing as text: one line per tool, then the drift. */
export function describeTools(view: ToolsView): string {
  const lines = [`route ${view.route}${view.pinning ? ` (pinning: ${view.pinning})` : ''}`];
  if (view.items.length === 0) lines.push('  no tool seen yet');
  for (const pin of view.items) {
    const waiting = pin.status !== 'approved' || pin.digest !== pin.seenDigest;
    lines.push(
      `  ${pin.tool}  ${pin.status}  approved ${short(pin.digest)}${waiting ? `  shown now ${pin.seenDigest}` : ''}${pin.recheck ? '  (re-check: the server announced a change)' : ''}`,
    );
  }
  if (view.drift.length > 0) {
    lines.push('drift (newest first):');
    for (const d of view.drift)
      lines.push(
        `  ${d.tool}  ${short(d.oldDigest)} -> ${d.newDigest}  changed: ${d.changed.join(', ') || '-'}  first seen ${new Date(d.firstSeen * 1000).toISOString()}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
