import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../core/errors.ts';
import { isPattern, patternMatches } from '../core/grants/index.ts';

export type Protocol = 'http' | 'mcp' | 'a2a' | 'openai';
export type Impact = 'low' | 'medium' | 'high' | 'critical';
export type Reversibility = 'reversible' | 'compensable' | 'irreversible';
export type DataClass = 'public' | 'internal' | 'confidential' | 'restricted';

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
}

/** What a request is, as far as the catalog is concerned. */
export type CallDescriptor =
  | { readonly protocol: 'http'; readonly method: string; readonly path: string }
  | { readonly protocol: 'mcp'; readonly rpcMethod: string; readonly tool?: string }
  | { readonly protocol: 'a2a'; readonly rpcMethod: string; readonly skill?: string }
  | { readonly protocol: 'openai'; readonly model: string };

const IMPACTS: readonly Impact[] = ['low', 'medium', 'high', 'critical'];
const REVERSIBILITY: readonly Reversibility[] = ['reversible', 'compensable', 'irreversible'];
const DATA_CLASSES: readonly DataClass[] = ['public', 'internal', 'confidential', 'restricted'];
const MATCH_KEYS: Readonly<Record<Protocol, readonly string[]>> = {
  http: ['method', 'path'],
  mcp: ['tool', 'rpcMethod'],
  a2a: ['rpcMethod', 'skill'],
  openai: ['model'],
};

/**
 * The action catalog (DESIGN §6): every action an agent may take through the gateway. A call that matches
 * no entry is unknown, and unknown actions are denied. The first matching entry wins.
 */
export class ActionCatalog {
  readonly actions: readonly CatalogAction[];

  constructor(actions: readonly CatalogAction[]) {
    this.actions = Object.freeze(actions.map((a, i) => Object.freeze(validateAction(a, `/actions/${i}`))));
    const names = new Set<string>();
    for (const [i, a] of this.actions.entries()) {
      if (names.has(a.name)) throw new ConfigError(`/actions/${i}/name`, `duplicate action ${a.name}`);
      names.add(a.name);
    }
  }

  static fromFile(path: string): ActionCatalog {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, 'utf8'), { uniqueKeys: true });
    } catch (error) {
      throw new ConfigError('', `cannot read the action catalog ${path}: ${(error as Error).message}`);
    }
    if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { actions?: unknown }).actions)) {
      throw new ConfigError('/actions', 'the catalog must be an object with an actions array');
    }
    return new ActionCatalog((doc as { actions: CatalogAction[] }).actions);
  }

  /** The catalog entry for a call, or undefined when the action is unknown. */
  resolve(call: CallDescriptor): CatalogAction | undefined {
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

function validateAction(input: CatalogAction, at: string): CatalogAction {
  const a = input as unknown as Record<string, unknown>;
  if (typeof a !== 'object' || a === null) throw new ConfigError(at, 'must be an object');
  const allowed = [
    'name',
    'match',
    'resource',
    'impact',
    'dataClass',
    'reversibility',
    'blastRadius',
    'description',
  ];
  for (const key of Object.keys(a))
    if (!allowed.includes(key)) throw new ConfigError(`${at}/${key}`, 'unknown option');
  if (typeof a['name'] !== 'string' || !/^[A-Za-z0-9_.:/-]{1,200}$/.test(a['name']))
    throw new ConfigError(`${at}/name`, 'must be an action name');
  const m = a['match'] as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null) throw new ConfigError(`${at}/match`, 'must be an object');
  const protocol = m['protocol'] as Protocol;
  if (!Object.hasOwn(MATCH_KEYS, protocol))
    throw new ConfigError(`${at}/match/protocol`, 'must be http, mcp, a2a or openai');
  for (const key of Object.keys(m)) {
    if (key !== 'protocol' && !MATCH_KEYS[protocol].includes(key))
      throw new ConfigError(`${at}/match/${key}`, `not a ${protocol} match option`);
    if (key !== 'protocol' && (typeof m[key] !== 'string' || (m[key] as string).length === 0))
      throw new ConfigError(`${at}/match/${key}`, 'must be a string');
  }
  if (protocol === 'http' && (m['path'] === undefined || !isPattern(m['path'])))
    throw new ConfigError(`${at}/match/path`, 'http actions need a path pattern');
  if (protocol === 'mcp' && (m['tool'] === undefined) === (m['rpcMethod'] === undefined))
    throw new ConfigError(`${at}/match`, 'mcp actions need exactly one of tool, rpcMethod');
  if (protocol === 'openai' && m['model'] === undefined)
    throw new ConfigError(`${at}/match/model`, 'openai actions need a model pattern');
  const impact = a['impact'] ?? 'medium';
  if (!IMPACTS.includes(impact as Impact))
    throw new ConfigError(`${at}/impact`, `must be one of ${IMPACTS.join(', ')}`);
  const dataClass = a['dataClass'] ?? 'internal';
  if (!DATA_CLASSES.includes(dataClass as DataClass))
    throw new ConfigError(`${at}/dataClass`, `must be one of ${DATA_CLASSES.join(', ')}`);
  const reversibility = a['reversibility'] ?? 'irreversible';
  if (!REVERSIBILITY.includes(reversibility as Reversibility))
    throw new ConfigError(`${at}/reversibility`, `must be one of ${REVERSIBILITY.join(', ')}`);
  const blastRadius = a['blastRadius'] ?? 1;
  if (typeof blastRadius !== 'number' || !Number.isSafeInteger(blastRadius) || blastRadius < 1)
    throw new ConfigError(`${at}/blastRadius`, 'must be a positive integer');
  if (a['resource'] !== undefined && (typeof a['resource'] !== 'string' || a['resource'].length === 0))
    throw new ConfigError(`${at}/resource`, 'must be a string');
  return {
    name: a['name'],
    match: { ...(m as unknown as ActionMatch) },
    ...(a['resource'] === undefined ? {} : { resource: a['resource'] as string }),
    impact: impact as Impact,
    dataClass: dataClass as DataClass,
    reversibility: reversibility as Reversibility,
    blastRadius,
  };
}

export const DATA_CLASS_RANK: Readonly<Record<DataClass, number>> = {
  public: 0,
  internal: 1,
  confidential: 2,
  restricted: 3,
};
