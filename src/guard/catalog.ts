import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { deepFreeze, escapePointer, toConfigError } from '../config/validate-config.ts';
import { ConfigError } from '../core/errors.ts';
import { type DataClass, isPattern, patternMatches } from '../core/grants/index.ts';
import schema from './catalog.schema.json' with { type: 'json' };

export type Protocol = 'http' | 'mcp' | 'a2a' | 'openai';
export type Impact = 'low' | 'medium' | 'high' | 'critical';
export type Reversibility = 'reversible' | 'compensable' | 'irreversible';

/** How a call is recognised: by protocol and the protocol's own name for the operation. */
export interface ActionMatch {
  readonly protocol: Protocol;
  /** http: method (exact, upper case) and path pattern (trailing `*` prefix). */
  readonly method?: string;
  readonly path?: string;
  /** mcp: tool name for `tools/call`, or another JSON-RPC method (`resources/read`). */
  readonly tool?: string;
  readonly rpcMethod?: string;
  /** a2a: skill id (from message metadata), when the agent exposes several. */
  readonly skill?: string;
  /** openai: model pattern. */
  readonly model?: string;
}

/** Where a constrained value of a call lives (DESIGN §6). */
export type ParameterSource = 'body' | 'arguments' | 'query' | 'header' | 'none';

export interface ParameterLocation {
  /**
   * `body`: the JSON request body (`http`, `openai`); `arguments`: the MCP `tools/call` arguments or the
   * A2A message's data part (`mcp`, `a2a`); `query`: a query parameter; `header`: a request header;
   * `none`: the action carries no such value, so a grant constraint on it does not apply to this action.
   */
  readonly in: ParameterSource;
  /** `body` / `arguments`: an RFC 6901 JSON pointer, e.g. `/amount` or `/payment/amount`. */
  readonly pointer?: string;
  /** `query` / `header`: the parameter or header name. */
  readonly name?: string;
}

/** An action's own rate limit (throttle), per agent. */
export interface RateLimit {
  readonly requests: number;
  readonly perSeconds: number;
}

export interface CatalogAction {
  /** The action name grants refer to, e.g. `crm:contacts.read`. */
  readonly name: string;
  readonly match: ActionMatch;
  /** Resource the grant must cover; default: the route's audience. `{model}` / `{tool}` are substituted. */
  readonly resource?: string;
  readonly impact: Impact;
  readonly dataClass: DataClass;
  readonly reversibility: Reversibility;
  /** Systems touched if this goes wrong (1 = one record, larger = wider). */
  readonly blastRadius: number;
  /** Throttle: at most `requests` calls per agent in each fixed window of `perSeconds` seconds. */
  readonly rateLimit?: RateLimit;
  /**
   * Where each constrained value of the call lives, by parameter name: a grant's `max_<name>` or
   * enumeration `<name>` is checked against parameter `<name>`; `destination`, when declared, too.
   */
  readonly parameters?: Readonly<Record<string, ParameterLocation>>;
  /** Calls of agents below `belowTrustLevel` go to `upstream` instead of production (docs/guard.md). */
  readonly sandbox?: ActionSandbox;
  /** The call that undoes this action (`reversible` http actions only); see {@link Compensation}. */
  readonly compensation?: Compensation;
}

export interface ActionSandbox {
  /** An http(s) URL: the sandbox's origin and base path. */
  readonly upstream: string;
  readonly belowTrustLevel: number;
}

/**
 * The compensating call of a reversible action (DESIGN §6, `warrant contain`): sent to the upstream of the
 * route the action was called on, its path relative to that upstream. `{name}` in `path` is replaced by the
 * value (percent-encoded); a string of `body` that is exactly `{name}` is replaced by the value as it was
 * (number, string, object…). Each value comes from the original call: its JSON request body, or its 2xx
 * JSON response (the first 64 KiB), by an RFC 6901 pointer.
 */
export interface Compensation {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly values?: Readonly<Record<string, CompensationValue>>;
}

export interface CompensationValue {
  readonly from: 'request' | 'response';
  readonly pointer: string;
}

/** A compensation value compiled at load: its pointer split into decoded reference tokens. */
export interface CompiledCompensationValue {
  readonly name: string;
  readonly from: 'request' | 'response';
  readonly path: readonly string[];
}

/** A parameter compiled once at load: its pointer split into reference tokens, its header name lower-cased. */
export interface CompiledParameter {
  readonly name: string;
  readonly in: ParameterSource;
  /** `body` / `arguments`: the decoded reference tokens of the pointer (`~1` → `/`, `~0` → `~`). */
  readonly path: readonly string[];
  /** `query`: the name as given; `header`: lower case. Empty otherwise. */
  readonly key: string;
}

/** A catalog action as the catalog holds it: validated, frozen, its parameters compiled. */
export interface CatalogEntry extends CatalogAction {
  readonly compiled: ReadonlyMap<string, CompiledParameter>;
  /**
   * Whether some parameter (or compensation value) is read from the request body (an `http` body is then
   * read before deciding).
   */
  readonly readsBody: boolean;
  /** The compensation's values, compiled (empty without a compensation). */
  readonly compensationValues: readonly CompiledCompensationValue[];
}

/**
 * The arguments of one JSON-RPC call as the gateway parsed them (once, for matching): MCP `tools/call`
 * `params.arguments`, or the `data` of the A2A message's one data part. `missing` and `invalid` say why
 * there is no usable value (no arguments; more than one data part). `repeated`: the arguments repeat a
 * member name, so the upstream may read another value than any check would — such a call is refused
 * whether or not a constraint reads its arguments.
 */
export type CallArguments =
  | { readonly value: unknown }
  | { readonly missing: string }
  | { readonly invalid: string; readonly repeated?: true };

/** What a request is, as far as the catalog is concerned. */
export type CallDescriptor =
  | { readonly protocol: 'http'; readonly method: string; readonly path: string }
  | {
      readonly protocol: 'mcp';
      readonly rpcMethod: string;
      readonly tool?: string;
      readonly arguments?: CallArguments;
    }
  | {
      readonly protocol: 'a2a';
      readonly rpcMethod: string;
      readonly skill?: string;
      readonly arguments?: CallArguments;
    }
  | { readonly protocol: 'openai'; readonly model: string; readonly body?: unknown };

const MATCH_KEYS: Readonly<Record<Protocol, readonly string[]>> = {
  http: ['method', 'path'],
  mcp: ['tool', 'rpcMethod'],
  a2a: ['rpcMethod', 'skill'],
  openai: ['model'],
};
/** Which parameter sources each protocol's calls have. */
const SOURCES: Readonly<Record<Protocol, readonly ParameterSource[]>> = {
  http: ['body', 'query', 'header', 'none'],
  openai: ['body', 'query', 'header', 'none'],
  mcp: ['arguments', 'query', 'header', 'none'],
  a2a: ['arguments', 'query', 'header', 'none'],
};

/** The published JSON Schema of the catalog file (draft 2020-12). */
export const catalogSchema: Readonly<Record<string, unknown>> = schema;

let validator: ValidateFunction | undefined;

/**
 * A catalog error: a `ConfigError` whose `path` is the JSON pointer of the failing entry inside the
 * catalog, and, when read from a file, that file.
 */
export class CatalogError extends ConfigError {
  readonly file: string | undefined;
  readonly reason: string;
  constructor(path: string, reason: string, file?: string) {
    super(path, reason);
    this.file = file;
    this.reason = reason;
    if (file !== undefined) this.message = `action catalog ${file}${path ? ` at ${path}` : ''}: ${reason}`;
  }
}

/**
 * Validates a catalog document (`{actions: [...]}`) against `catalog.schema.json`, then the rules a schema
 * cannot state; returns the entries with defaults filled in and parameters compiled. The input is not
 * modified. Throws `CatalogError` naming the failing JSON pointer.
 */
export function validateCatalog(input: unknown): CatalogEntry[] {
  // Strict (unknown keywords and loose types are schema bugs), defaults filled in, first error only.
  validator ??= new Ajv2020({ strict: true, useDefaults: true, allErrors: false, verbose: true }).compile(
    schema,
  );
  let doc: unknown;
  try {
    doc = structuredClone(input);
  } catch {
    throw new CatalogError('', 'expected a catalog of plain data (an object with an actions array)');
  }
  if (!validator(doc)) throw schemaError(validator.errors?.[0]);
  return (doc as { actions: CatalogAction[] }).actions.map((a, i) => entry(a, `/actions/${i}`));
}

function schemaError(error: ErrorObject | undefined): CatalogError {
  if (error?.propertyName !== undefined && error.instancePath.endsWith('/compensation/values')) {
    return new CatalogError(
      `${error.instancePath}/${escapePointer(error.propertyName)}`,
      'expected a value name: lower case [a-z][a-z0-9_]*, at most 60 characters',
    );
  }
  if (error?.propertyName !== undefined) {
    return new CatalogError(
      `${error.instancePath}/${escapePointer(error.propertyName)}`,
      'expected a parameter name: lower case [a-z][a-z0-9_]*, at most 60 characters, not max_* or data_class',
    );
  }
  const named = error?.keyword === 'pattern' ? PATTERN_NAMES[String(error.schema)] : undefined;
  if (named !== undefined) return new CatalogError(error!.instancePath, `expected ${named}`);
  const e = toConfigError(error);
  return new CatalogError(e.path, e.message.slice(e.message.indexOf(': ') + 2));
}

/** What each pattern of the catalog schema means, for error messages. */
const PATTERN_NAMES: Readonly<Record<string, string>> = {
  '^(/([^~/]|~[01])*)+$': 'an RFC 6901 JSON pointer such as /amount (~1 stands for /, ~0 for ~)',
  "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$": 'an HTTP header name',
  '^[A-Za-z0-9_.:/-]{1,200}$': 'an action name: 1..200 characters of A-Z a-z 0-9 _ . : / -',
  '^/[^*]*\\*?$': 'a path starting with / (a trailing * matches every path it starts)',
  '^/[^\\s?#*]*$':
    'a path starting with /, without spaces, query, fragment or * ({name} placeholders allowed)',
  '^[A-Z]{1,16}$': 'an HTTP method in upper case',
  '^[^*]+\\*?$|^\\*$': 'a model name or pattern (a trailing * matches every name it starts)',
  '^https?://[^/?#@\\s]+(/[^?#\\s]*)?$': 'an http:// or https:// URL without query, fragment or credentials',
};

/**
 * The action catalog (DESIGN §6): every action an agent may take through the gateway. A call that matches
 * no entry is unknown, and unknown actions are denied. The first matching entry wins.
 */
export class ActionCatalog {
  readonly actions: readonly CatalogEntry[];
  /** Whether some action reads a parameter from the request body (else no `http` body is ever read for one). */
  readonly readsBody: boolean;

  constructor(actions: readonly CatalogAction[]) {
    this.actions = Object.freeze(validateCatalog({ actions }));
    this.readsBody = this.actions.some((a) => a.readsBody);
    const names = new Set<string>();
    for (const [i, a] of this.actions.entries()) {
      if (names.has(a.name)) throw new CatalogError(`/actions/${i}/name`, `duplicate action ${a.name}`);
      names.add(a.name);
    }
  }

  /** Reads and validates a catalog file (YAML or JSON, duplicate keys refused). Errors name the file. */
  static fromFile(path: string): ActionCatalog {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, 'utf8'), { uniqueKeys: true, schema: 'core', merge: false });
    } catch (error) {
      throw new CatalogError('', `cannot read it: ${(error as Error).message.split('\n')[0]}`, path);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw new CatalogError('', 'expected an object with an actions array', path);
    try {
      validateCatalog(doc);
      return new ActionCatalog((doc as { actions: CatalogAction[] }).actions);
    } catch (error) {
      if (error instanceof CatalogError) throw new CatalogError(error.path, error.reason, path);
      throw error;
    }
  }

  /** The catalog entry for a call, or undefined when the action is unknown. */
  resolve(call: CallDescriptor): CatalogEntry | undefined {
    for (const action of this.actions) if (matches(action.match, call)) return action;
    return undefined;
  }
}

function matches(m: ActionMatch, call: CallDescriptor): boolean {
  if (m.protocol !== call.protocol) return false;
  switch (call.protocol) {
    case 'http':
      return (
        (m.method === undefined || m.method === call.method) &&
        m.path !== undefined &&
        patternMatches(m.path, call.path)
      );
    case 'mcp':
      if (m.tool !== undefined) return call.rpcMethod === 'tools/call' && call.tool === m.tool;
      return m.rpcMethod === call.rpcMethod;
    case 'a2a':
      return (
        (m.rpcMethod === undefined || m.rpcMethod === call.rpcMethod) &&
        (m.skill === undefined || m.skill === call.skill)
      );
    case 'openai':
      return m.model !== undefined && patternMatches(m.model, call.model);
  }
}

/** The rules the schema cannot state, then the compiled, frozen entry. `a` has passed the schema. */
function entry(a: CatalogAction, at: string): CatalogEntry {
  const m = a.match;
  if (m.protocol === 'http' && !isPattern(m.path))
    throw new CatalogError(`${at}/match/path`, 'http actions need a path pattern');
  if (m.protocol === 'mcp' && (m.tool === undefined) === (m.rpcMethod === undefined))
    throw new CatalogError(`${at}/match`, 'mcp actions need exactly one of tool, rpcMethod');
  if (m.protocol === 'openai' && !isPattern(m.model))
    throw new CatalogError(`${at}/match/model`, 'openai actions need a model pattern');
  for (const key of Object.keys(m)) {
    if (key !== 'protocol' && !MATCH_KEYS[m.protocol].includes(key))
      throw new CatalogError(`${at}/match/${key}`, `not a ${m.protocol} match option`);
  }
  if (a.sandbox !== undefined && !URL.canParse(a.sandbox.upstream))
    throw new CatalogError(`${at}/sandbox/upstream`, 'expected an http:// or https:// URL');
  const compiled = new Map<string, CompiledParameter>();
  for (const [name, location] of Object.entries(a.parameters ?? {})) {
    const where = `${at}/parameters/${name}`;
    if (!SOURCES[m.protocol].includes(location.in)) {
      throw new CatalogError(
        `${where}/in`,
        `${m.protocol} calls have no ${location.in}; expected one of: ${SOURCES[m.protocol].join(', ')}`,
      );
    }
    compiled.set(
      name,
      Object.freeze({
        name,
        in: location.in,
        path:
          location.pointer === undefined
            ? []
            : Object.freeze(
                location.pointer
                  .slice(1)
                  .split('/')
                  .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~')),
              ),
        key: location.in === 'header' ? location.name!.toLowerCase() : (location.name ?? ''),
      }),
    );
  }
  const compensationValues = a.compensation ? compileCompensation(a, at) : [];
  const { description: _, ...rest } = a as CatalogAction & { description?: string };
  return Object.freeze({
    ...rest,
    match: Object.freeze({ ...m }),
    ...(a.parameters === undefined ? {} : { parameters: deepFreeze(a.parameters) }),
    ...(a.compensation === undefined ? {} : { compensation: deepFreeze(a.compensation) }),
    compiled,
    readsBody:
      [...compiled.values()].some((p) => p.in === 'body') ||
      compensationValues.some((v) => v.from === 'request'),
    compensationValues: Object.freeze(compensationValues),
  });
}

const PLACEHOLDER = /\{([a-z][a-z0-9_]{0,59})\}/g;
const WHOLE_PLACEHOLDER = /^\{([a-z][a-z0-9_]{0,59})\}$/;

/**
 * The rules of a compensation the schema cannot state: only for `reversible` http actions (the values are
 * read from a JSON body and a JSON answer), every placeholder of the path and body names a declared
 * value, and every declared value is used. Returns the values compiled.
 */
function compileCompensation(a: CatalogAction, at: string): CompiledCompensationValue[] {
  const c = a.compensation!;
  const where = `${at}/compensation`;
  if (a.reversibility !== 'reversible')
    throw new CatalogError(
      where,
      'only a reversible action has a compensation (set reversibility: reversible)',
    );
  if (a.match.protocol !== 'http')
    throw new CatalogError(where, 'compensations are declared for http actions only');
  const values = c.values ?? {};
  const used = new Set<string>();
  for (const [, name] of c.path.matchAll(PLACEHOLDER)) {
    if (values[name!] === undefined)
      throw new CatalogError(`${where}/path`, `placeholder {${name}} names no value of compensation.values`);
    used.add(name!);
  }
  const leftover = c.path.replace(PLACEHOLDER, '');
  if (leftover.includes('{') || leftover.includes('}'))
    throw new CatalogError(`${where}/path`, 'expected {name} placeholders with lower-case names');
  const visit = (value: unknown, pointer: string): void => {
    if (typeof value === 'string') {
      const whole = WHOLE_PLACEHOLDER.exec(value);
      if (whole) {
        if (values[whole[1]!] === undefined)
          throw new CatalogError(pointer, `placeholder {${whole[1]}} names no value of compensation.values`);
        used.add(whole[1]!);
      }
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, `${pointer}/${i}`);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, `${pointer}/${escapePointer(k)}`);
    }
  };
  if (c.body !== undefined) visit(c.body, `${where}/body`);
  const compiled: CompiledCompensationValue[] = [];
  for (const [name, v] of Object.entries(values)) {
    if (!used.has(name))
      throw new CatalogError(
        `${where}/values/${name}`,
        'this value is used by neither the path nor the body',
      );
    compiled.push(
      Object.freeze({
        name,
        from: v.from,
        path: Object.freeze(
          v.pointer
            .slice(1)
            .split('/')
            .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~')),
        ),
      }),
    );
  }
  return compiled;
}
