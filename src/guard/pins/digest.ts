/**
 * The digest of a tool's definition (pinned tools, DESIGN §6): SHA-256 over the RFC 8785 canonical JSON of
 * the fields a model reads and a client relies on — for an MCP tool its name, title, description, input and
 * output schema and annotations; for an A2A skill its id, name, description, tags, examples and input and
 * output modes, as the agent card gives them. Anything else the server sends (`_meta`, icons) is left out:
 * it may change between answers without changing what the tool is.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../ledger/jcs.ts';

/** A definition as pinned: the digested fields only, absent ones left out. */
export type ToolDefinition = Readonly<Record<string, unknown>>;

/** `sha256:` and 64 lower-case hex digits. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

const MCP_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;
const A2A_FIELDS = ['id', 'name', 'description', 'tags', 'examples', 'inputModes', 'outputModes'] as const;

function pick(source: Record<string, unknown>, fields: readonly string[]): ToolDefinition {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (source[field] !== undefined) out[field] = source[field];
  return out;
}

/** The pinned part of an MCP `tools/list` entry. */
export function mcpToolDefinition(tool: Record<string, unknown>): ToolDefinition {
  return pick(tool, MCP_FIELDS);
}

/** The pinned part of an A2A agent card's skill. */
export function a2aSkillDefinition(skill: Record<string, unknown>): ToolDefinition {
  return pick(skill, A2A_FIELDS);
}

/**
 * `sha256:<hex>` of the definition's canonical JSON. A definition JCS cannot write (a lone surrogate, a
 * number JSON cannot hold) throws: the caller treats that tool as unreadable and hides it.
 */
export function definitionDigest(definition: ToolDefinition): string {
  return `sha256:${createHash('sha256').update(canonicalJson(definition)).digest('hex')}`;
}

/** The fields whose canonical JSON differs between two definitions, sorted (what changed, for the drift). */
export function changedFields(before: ToolDefinition, after: ToolDefinition): string[] {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]);
  const same = (field: string) => {
    const a = before[field];
    const b = after[field];
    if (a === undefined || b === undefined) return a === b;
    return canonicalJson(a) === canonicalJson(b);
  };
  return [...fields].filter((f) => !same(f)).sort();
}
