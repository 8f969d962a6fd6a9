import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { MAX_CHAIN_LINKS } from '../core/chain/verify-chain.ts';
import { ConfigError } from '../core/errors.ts';
import { Peers } from '../federation/peers.ts';
import { parseNoteVerifierKey } from '../ledger/checkpoint.ts';
import { headerBytesForDepth } from './header-budget.ts';
import schema from './schema.json' with { type: 'json' };
import type { WarrantConfig } from './types.ts';

/** The published JSON Schema of the configuration file (draft 2020-12). */
export const configSchema: Readonly<Record<string, unknown>> = schema;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // Compiled once, on first use: strict (unknown keywords, ignored defaults and loose types are schema bugs),
  // defaults filled in, stop at the first error so the message names one option.
  compiled ??= new Ajv2020({ strict: true, useDefaults: true, allErrors: false, verbose: true }).compile(
    schema,
  );
  return compiled;
}

/**
 * Validates a parsed configuration (already merged with overrides) once: fills in the schema defaults,
 * checks the rules a schema cannot express, and returns a deep-frozen copy. The input is not modified.
 * Throws `ConfigError` whose `path` is the JSON pointer of the failing option.
 */
export function validateConfig(input: unknown): WarrantConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(
      '',
      `expected a configuration object (a mapping of options), got ${describeValue(input)}`,
    );
  }
  const data = structuredClone(input) as Record<string, unknown>;
  const validate = validator();
  if (!validate(data)) throw toConfigError(validate.errors?.[0]);
  const config = data as unknown as WarrantConfig;
  checkCrossFieldRules(config);
  // Trusted peers: one key source each, no issuer twice, grants in the grant algebra (contacts nothing).
  new Peers(config.federation).close();
  return deepFreeze(config);
}

/** Rules that involve more than one option, or that JSON Schema cannot state in strict mode. */
function checkCrossFieldRules(config: WarrantConfig): void {
  const { store, sts, gateway } = config;
  if (store.kind === 'postgres') {
    if (store.url === undefined) {
      throw new ConfigError(
        '/store/url',
        'is required when store.kind is postgres (expected a postgres:// URL)',
      );
    }
    if (!/^postgres(ql)?:\/\//.test(store.url)) {
      throw new ConfigError(
        '/store/url',
        'expected a postgres:// or postgresql:// URL when store.kind is postgres',
      );
    }
  }
  checkLedger(config);
  const trust = config.guard.trust;
  if (trust.initialLevel > trust.levels) {
    throw new ConfigError(
      '/guard/trust/initialLevel',
      `must be at most guard.trust.levels (${trust.levels}), got ${trust.initialLevel}`,
    );
  }
  if (gateway.replayCache === 'redis' && config.redis === undefined) {
    throw new ConfigError(
      '/gateway/replayCache',
      'redis requires the top-level redis option (redis.url); use memory for a single gateway',
    );
  }
  if (config.guard.counters === 'redis' && config.redis === undefined) {
    throw new ConfigError(
      '/guard/counters',
      'redis requires the top-level redis option (redis.url); use memory for a single gateway',
    );
  }
  sts.trustedIssuers.forEach((issuer, i) => {
    const at = `/sts/trustedIssuers/${i}`;
    if (issuer.jwksUri !== undefined && issuer.jwksFile !== undefined) {
      throw new ConfigError(`${at}/jwksFile`, 'expected either jwksUri or jwksFile, not both');
    }
    if (issuer.audience === undefined && (issuer.kind !== 'oidc' || issuer.mapping !== undefined)) {
      throw new ConfigError(
        `${at}/audience`,
        'is required for workload issuers (kubernetes, spiffe, or any issuer with a mapping)',
      );
    }
    if (issuer.kind !== 'oidc' && (issuer.assertions?.length ?? 0) > 0) {
      throw new ConfigError(`${at}/assertions`, "only oidc issuers send persons' assertions");
    }
    if (issuer.mapping?.pattern !== undefined) {
      try {
        new RegExp(issuer.mapping.pattern, 'u');
      } catch {
        throw new ConfigError(`${at}/mapping/pattern`, 'expected a valid regular expression (Unicode mode)');
      }
    }
  });
  // Pinned tools digest MCP tools and A2A skills: on any other protocol there is nothing to pin, and a
  // setting that silently does nothing is a trap.
  gateway.routes.forEach((route, i) => {
    if ((route.tools?.pinning ?? 'off') !== 'off' && route.protocol !== 'mcp' && route.protocol !== 'a2a') {
      throw new ConfigError(
        `/gateway/routes/${i}/tools/pinning`,
        `pins tool definitions of mcp and a2a routes only; this route's protocol is ${route.protocol} (use off)`,
      );
    }
  });
  // The header block must hold a chain of the deepest delegation allowed (docs/gateway.md, Limits).
  const needed = headerBytesForDepth(sts.maxDepth);
  const limits = gateway.limits as { maxHeaderBytes?: number };
  if (limits.maxHeaderBytes === undefined) limits.maxHeaderBytes = needed;
  else if (limits.maxHeaderBytes < needed) {
    throw new ConfigError(
      '/gateway/limits/maxHeaderBytes',
      `expected at least ${needed} for sts.maxDepth ${sts.maxDepth} (a chain of ${Math.min(sts.maxDepth + 1, MAX_CHAIN_LINKS)} warrants must fit in the request headers); raise gateway.limits.maxHeaderBytes or lower sts.maxDepth`,
    );
  }
  checkBudgets(config);
  // A more trusted agent may take at least the risk a less trusted one may (bounded autonomy).
  const bounds = config.guard.autonomy.bounds;
  for (let level = 1; level < bounds.length; level++) {
    if (bounds[level]! < bounds[level - 1]!)
      throw new ConfigError(
        `/guard/autonomy/bounds/${level}`,
        `expected at least ${bounds[level - 1]} (the bound of level ${level - 1}): bounds must not decrease with the trust level`,
      );
  }
  const longest = Math.max(sts.identityTokenLifetime, sts.warrantLifetime, sts.hopLifetime);
  if (sts.keyRotation.overlapSeconds < longest) {
    throw new ConfigError(
      '/sts/keyRotation/overlapSeconds',
      `expected at least ${longest} (the longest token lifetime), so tokens signed before a rotation keep verifying`,
    );
  }
}

/** The replicated ledger lives in PostgreSQL; its lease outlives two rounds; witness keys parse. */
function checkLedger(config: WarrantConfig): void {
  const { ledger } = config;
  if (ledger.mode === 'replicated' && config.store.kind !== 'postgres')
    throw new ConfigError(
      '/ledger/mode',
      'replicated requires store.kind postgres (the replicas share the ledger there); use single-writer with sqlite',
    );
  if (ledger.leaseMs <= 2 * ledger.integrateMs)
    throw new ConfigError(
      '/ledger/leaseMs',
      `expected more than twice ledger.integrateMs (${2 * ledger.integrateMs}): the holder renews it every round`,
    );
  ledger.witnesses.forEach((key, i) => {
    try {
      parseNoteVerifierKey(key);
    } catch {
      throw new ConfigError(
        `/ledger/witnesses/${i}`,
        'expected a note verifier key <name>+<8 hex>+<base64 key>',
      );
    }
  });
}

/** Budget names are unique (they key the spent amounts, overrides and refusals). */
function checkBudgets(config: WarrantConfig): void {
  const seen = new Map<string, number>();
  config.guard.budgets.forEach((budget, i) => {
    const first = seen.get(budget.name);
    if (first !== undefined)
      throw new ConfigError(`/guard/budgets/${i}/name`, `expected a unique name (same as budget ${first})`);
    seen.set(budget.name, i);
  });
}

/** An Ajv error as a `ConfigError` naming the failing JSON pointer (also used for the action catalog). */
export function toConfigError(error: ErrorObject | undefined): ConfigError {
  if (!error) return new ConfigError('', 'does not match the configuration schema');
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const params = error.params as Record<string, unknown>;
  const at = error.instancePath;
  switch (error.keyword) {
    case 'additionalProperties': {
      const known = Object.keys((parent['properties'] as Record<string, unknown> | undefined) ?? {});
      return new ConfigError(
        `${at}/${escapePointer(String(params['additionalProperty']))}`,
        `unknown option; expected one of: ${known.join(', ')}`,
      );
    }
    case 'required':
      return new ConfigError(`${at}/${escapePointer(String(params['missingProperty']))}`, 'is required');
    case 'type':
      return new ConfigError(
        at,
        `expected ${article(String(params['type']))}, got ${describeValue(error.data)}`,
      );
    case 'enum':
      return new ConfigError(
        at,
        `expected one of: ${(params['allowedValues'] as unknown[]).map(String).join(', ')}`,
      );
    case 'minimum':
    case 'maximum':
      return new ConfigError(at, `expected ${range(parent)}`);
    case 'minLength':
      return new ConfigError(
        at,
        error.schema === 1 ? 'expected a non-empty string' : `expected at least ${error.schema} characters`,
      );
    case 'maxLength':
      return new ConfigError(at, `expected at most ${error.schema} characters`);
    case 'pattern':
      return new ConfigError(
        at,
        `expected ${PATTERN_NAMES[String(error.schema)] ?? `a string matching ${error.schema}`}`,
      );
    case 'minItems':
      return new ConfigError(at, `expected at least ${error.schema} item${error.schema === 1 ? '' : 's'}`);
    case 'uniqueItems':
      return new ConfigError(`${at}/${params['i']}`, `expected no duplicates (same as item ${params['j']})`);
    default:
      return new ConfigError(at, error.message ?? 'does not match the configuration schema');
  }
}

const PATTERN_NAMES: Readonly<Record<string, string>> = {
  '^https?://': 'an http:// or https:// URL',
  '^https?://[^\\s?#]+$': 'an http:// or https:// URL without query or fragment',
  '^rediss?://': 'a redis:// or rediss:// URL',
  '^/': 'a path starting with /',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'an environment variable name (letters, digits and _)',
  '^https?://[^/?#\\s@]+/?$': 'an http:// or https:// origin (scheme, host, optional port) without a path',
  '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._~-]+)(:[0-9]{1,5})?$':
    'a host name or address with an optional port, e.g. gw.example.org or 127.0.0.1:8081',
  '^(https?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._~-]+)(:[0-9]{1,5})?|null)$':
    'an origin such as https://app.example.org (scheme, host, optional port), or null',
  [(schema.properties.trustDomain as { pattern: string }).pattern]:
    'a lower-case DNS name such as example.org',
};

function range(schemaObject: Record<string, unknown>): string {
  const kind = schemaObject['type'] === 'integer' ? 'an integer' : 'a number';
  const min = schemaObject['minimum'];
  const max = schemaObject['maximum'];
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} >= ${min}`;
  return `${kind} <= ${max}`;
}

function article(type: string): string {
  switch (type) {
    case 'object':
      return 'an object (a mapping of options)';
    case 'array':
      return 'an array (a list)';
    case 'integer':
      return 'an integer';
    default:
      return `a ${type}`;
  }
}

/** The kind of a value, never the value itself: configuration may hold URLs with credentials. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** One JSON Pointer (RFC 6901) reference token: `~` and `/` escaped. */
export function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Freezes `value` and everything it holds (validated configuration and catalogs are immutable). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
