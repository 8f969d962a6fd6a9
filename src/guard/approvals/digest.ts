/**
 * What an approval binds (DESIGN §3 `apv`): one call, described by its action, resource and values, and
 * the SHA-256 of that description in RFC 8785 canonical form. The same call sent again has the same
 * digest; another amount, another recipient account, another path or body does not.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../ledger/jcs.ts';
import type { CallDescriptor, CatalogEntry } from '../catalog.ts';

/** One parameter as read by the gateway (`src/gateway/read-parameters.ts` ParameterRead). */
type Read =
  | { readonly json: unknown }
  | { readonly text: string }
  | { readonly missing: string }
  | { readonly invalid: string };

export interface CallFacts {
  readonly action: CatalogEntry;
  readonly resource: string;
  readonly call: CallDescriptor;
  /** Reads one catalog parameter of the call. */
  readonly read: (name: string) => Read;
  /** The request target (`METHOD /path?query`), for `http` and `openai` calls. */
  readonly target?: string;
  /** The request body, for `http` calls (its SHA-256 is bound, not its bytes). */
  readonly body?: Buffer;
}

/** What the approver is shown and the digest covers. */
export interface BoundCall {
  readonly action: string;
  readonly resource: string;
  /** The catalog parameters' values by name (absent ones left out, unreadable ones as `{invalid}`). */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** MCP / A2A: the call's whole arguments. */
  readonly arguments?: unknown;
  /** HTTP / OpenAI: the request target. */
  readonly target?: string;
  /** HTTP: base64url SHA-256 of the body. */
  readonly bodySha256?: string;
}

/** The description of one call an approval binds. */
export function boundCall(facts: CallFacts): BoundCall {
  const parameters: Record<string, unknown> = {};
  for (const name of facts.action.compiled.keys()) {
    const read = facts.read(name);
    if ('json' in read) parameters[name] = read.json;
    else if ('text' in read) parameters[name] = read.text;
    else if ('invalid' in read) parameters[name] = { invalid: read.invalid };
  }
  const { call } = facts;
  const args =
    (call.protocol === 'mcp' || call.protocol === 'a2a') && call.arguments && 'value' in call.arguments
      ? call.arguments.value
      : undefined;
  return {
    action: facts.action.name,
    resource: facts.resource,
    parameters,
    ...(args === undefined ? {} : { arguments: args }),
    ...(facts.target === undefined ? {} : { target: facts.target }),
    ...(facts.body === undefined || facts.body.length === 0
      ? {}
      : { bodySha256: createHash('sha256').update(facts.body).digest('base64url') }),
  };
}

/** base64url SHA-256 of the canonical JSON (RFC 8785) of `bound`. */
export function boundDigest(bound: BoundCall): string {
  return createHash('sha256').update(canonicalJson(bound)).digest('base64url');
}
