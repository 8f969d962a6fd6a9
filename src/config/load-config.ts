import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.ts';
import type { ConfigOverrides, WarrantConfig } from './types.ts';
import { validateConfig } from './validate-config.ts';

/** Largest configuration file read; anything bigger is a mistake (a log, a database), not a config. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads the configuration file (YAML or JSON; duplicate keys refused), merges `overrides` on top
 * (objects member by member, arrays replaced whole), validates the result once against the schema,
 * fills in defaults and returns it deep-frozen. Without a path, the defaults plus overrides.
 *
 * Throws `ConfigError` whose `path` is the JSON pointer of the failing option (`''` for the file itself).
 */
export function loadConfig(path?: string, overrides: ConfigOverrides = {}): WarrantConfig {
  const fromFile = path === undefined ? {} : readConfigFile(path);
  // A file that is not a mapping is reported as such, not hidden by the overrides.
  if (!isPlainObject(fromFile)) return validateConfig(fromFile);
  return validateConfig(merge(fromFile, overrides));
}

/** The configuration with no file: every option at its schema default. */
export function defaultConfig(): WarrantConfig {
  return validateConfig({});
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_CONFIG_BYTES)
      throw new ConfigError('', `file is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError('', `cannot read ${path}: no such file`);
    if (code === 'EACCES') throw new ConfigError('', `cannot read ${path}: permission denied`);
    if (code === 'EISDIR') throw new ConfigError('', `cannot read ${path}: it is a directory`);
    if (error instanceof TypeError) throw new ConfigError('', `cannot read ${path}: not UTF-8 text`);
    throw new ConfigError('', `cannot read ${path}: ${code ?? 'unknown error'}`);
  }
  return parseYaml(text);
}

/** YAML 1.2 core schema (so JSON too): no custom tags, no merge keys, unique keys, bounded aliases. */
function parseYaml(text: string): unknown {
  const doc = parseDocument(text, {
    uniqueKeys: true,
    schema: 'core',
    merge: false,
    strict: true,
    prettyErrors: true,
  });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    if (problem.code === 'DUPLICATE_KEY') {
      const duplicate = findDuplicateKey(doc.contents, '');
      if (duplicate !== undefined)
        throw new ConfigError(duplicate, 'duplicate key; each option may appear only once');
    }
    // The first line only: the pretty form quotes the source, which may hold credentials.
    const reason = problem.message.split(' at line ')[0]!.split('\n')[0];
    const where = problem.linePos
      ? ` (line ${problem.linePos[0].line}, column ${problem.linePos[0].col})`
      : '';
    throw new ConfigError('', `not valid YAML or JSON${where}: ${reason}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError('', `not valid YAML: ${(error as Error).message}`);
  }
  // An empty file (or one with only comments) is an empty configuration: every option at its default.
  return value ?? {};
}

/** The JSON pointer of the first repeated key, walking maps and sequences in document order. */
function findDuplicateKey(node: unknown, at: string): string | undefined {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const pointer = `${at}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (seen.has(key)) return pointer;
      seen.add(key);
      const inner = findDuplicateKey(pair.value, pointer);
      if (inner !== undefined) return inner;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const inner = findDuplicateKey(item, `${at}/${i}`);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides === undefined ? base : overrides;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    Object.defineProperty(result, key, {
      value: merge(Object.hasOwn(base, key) ? base[key] : undefined, value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}
