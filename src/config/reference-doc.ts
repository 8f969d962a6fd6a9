/**
 * The configuration reference (docs/configuration-reference.md), generated from the JSON Schemas that are
 * the source of truth: the configuration file's (src/config/schema.json) and the action catalog's
 * (src/guard/catalog.schema.json). Each option is one row — its path, type, default, limits and
 * description — so the reference cannot drift from what Warrant validates. `npm run docs:config` writes it;
 * a test fails when the committed file differs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Schema = Record<string, unknown>;

export const CONFIG_SCHEMA_PATH = new URL('./schema.json', import.meta.url);
export const CATALOG_SCHEMA_PATH = new URL('../guard/catalog.schema.json', import.meta.url);
export const REFERENCE_DOC_PATH = new URL('../../docs/configuration-reference.md', import.meta.url);

interface Row {
  readonly path: string;
  readonly schema: Schema;
  readonly required: boolean;
}

const code = (value: unknown) => `\`${JSON.stringify(value)}\``;
/** A table cell: one line, pipes escaped, `<` outside code spans escaped (else it reads as HTML). */
const cell = (text: string) =>
  text
    .replace(/\s*\n\s*/g, ' ')
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, '&lt;') : part))
    .join('`')
    .replace(/\|/g, '\\|');
const defName = (ref: string) => ref.replace('#/$defs/', '');
const anchor = (prefix: string, name: string) => `${prefix}-${name}`.toLowerCase();

function typeOf(s: Schema, prefix: string): string {
  if (typeof s['$ref'] === 'string') {
    const name = defName(s['$ref']);
    return `[${name}](#${anchor(prefix, name)})`;
  }
  if ('const' in s) return code(s['const']);
  if (Array.isArray(s['enum'])) return (s['enum'] as unknown[]).map(code).join(' | ');
  const alternatives = (s['oneOf'] ?? s['anyOf']) as Schema[] | undefined;
  if (Array.isArray(alternatives)) return alternatives.map((a) => typeOf(a, prefix)).join(' or ');
  if (s['type'] === 'array') {
    const items = s['items'] as Schema | undefined;
    return items ? `array of ${typeOf(items, prefix)}` : 'array';
  }
  if (Array.isArray(s['type'])) return (s['type'] as string[]).join(' | ');
  if (typeof s['type'] === 'string') return s['type'];
  return 'any';
}

function limitsOf(s: Schema): string {
  const parts: string[] = [];
  const add = (key: string, label: string) => {
    if (key in s) parts.push(`${label} ${JSON.stringify(s[key])}`);
  };
  add('minimum', '≥');
  add('exclusiveMinimum', '>');
  add('maximum', '≤');
  add('exclusiveMaximum', '<');
  add('minLength', 'length ≥');
  add('maxLength', 'length ≤');
  add('minItems', 'items ≥');
  add('maxItems', 'items ≤');
  add('maxProperties', 'members ≤');
  if (s['uniqueItems'] === true) parts.push('unique');
  if (typeof s['pattern'] === 'string') parts.push(`pattern \`${s['pattern']}\``);
  if (typeof s['format'] === 'string') parts.push(`format ${s['format']}`);
  return parts.join(', ');
}

function defaultOf(s: Schema): string {
  if (!('default' in s)) return '';
  const value = s['default'];
  // An object's default is built from its members' defaults, listed on their own rows.
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
    return '';
  return code(value);
}

/** Every option under `s`, depth first, in the schema's order; objects without a `$ref` are expanded. */
function rows(s: Schema, path: string, required: boolean, out: Row[]): Row[] {
  if (path !== '') out.push({ path, schema: s, required });
  const properties = s['properties'] as Record<string, Schema> | undefined;
  if (properties && typeof s['$ref'] !== 'string') {
    const needed = new Set((s['required'] as string[] | undefined) ?? []);
    for (const [name, child] of Object.entries(properties)) {
      if (name === '$schema') continue;
      rows(child, path === '' ? name : `${path}.${name}`, needed.has(name), out);
    }
  }
  const items = s['items'] as Schema | undefined;
  if (s['type'] === 'array' && items && typeof items['$ref'] !== 'string' && items['properties'])
    rows(items, `${path}[]`, false, out);
  return out;
}

function table(schema: Schema, prefix: string): string[] {
  const lines = [
    '| option | type | default | limits | description |',
    '| ------ | ---- | ------- | ------ | ----------- |',
  ];
  for (const row of rows(schema, '', false, [])) {
    const s = row.schema;
    const description = typeof s['description'] === 'string' ? s['description'] : '';
    lines.push(
      `| \`${row.path}\`${row.required ? ' (required)' : ''} | ${cell(typeOf(s, prefix))} | ${cell(defaultOf(s))} | ${cell(limitsOf(s))} | ${cell(description)} |`,
    );
  }
  return lines;
}

function section(title: string, source: string, schema: Schema, prefix: string): string[] {
  const out = [
    `## ${title}`,
    '',
    `From [\`${source}\`](../${source}) (\`${String(schema['$id'] ?? '')}\`).`,
    '',
  ];
  if (typeof schema['description'] === 'string') out.push(schema['description'], '');
  out.push(...table(schema, prefix), '');
  const defs = (schema['$defs'] ?? {}) as Record<string, Schema>;
  for (const [name, def] of Object.entries(defs)) {
    out.push(`<a id="${anchor(prefix, name)}"></a>`, '', `### ${name}`, '');
    if (typeof def['description'] === 'string') out.push(def['description'], '');
    const alternatives = (def['oneOf'] ?? def['anyOf']) as Schema[] | undefined;
    if (def['properties']) out.push(...table(def, prefix), '');
    else if (Array.isArray(alternatives))
      out.push(`One of: ${alternatives.map((a) => typeOf(a, prefix)).join(', ')}.`, '');
    else out.push(`Type: ${typeOf(def, prefix)}${limitsOf(def) ? ` (${limitsOf(def)})` : ''}.`, '');
  }
  return out;
}

/** The reference document for the two schemas given (parsed JSON). */
export function referenceDoc(config: Schema, catalog: Schema): string {
  return `${[
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` from src/config/schema.json and src/guard/catalog.schema.json.',
    '     Do not edit: change the schemas and run it again (a test fails when this file is stale). -->',
    '',
    'Every option Warrant reads, as its JSON Schemas validate it: a value outside these types and limits is',
    'refused at load with its JSON path. Explanations and examples are in [configuration.md](configuration.md),',
    '[catalog.md](catalog.md) and [guard.md](guard.md). Paths are dotted; `[]` is an item of an array.',
    '',
    ...section('Configuration file', 'src/config/schema.json', config, 'config'),
    ...section('Action catalog', 'src/guard/catalog.schema.json', catalog, 'catalog'),
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

const BIOME = fileURLToPath(new URL('../../node_modules/.bin/biome', import.meta.url));

/**
 * The document as the repository's formatter (`biome format`, which `biome ci` checks) writes it: tables
 * with aligned columns. Run as a subprocess on stdin, so the committed file is exactly its output.
 */
export function formatMarkdown(text: string): string {
  const run = spawnSync(BIOME, ['format', `--stdin-file-path=${fileURLToPath(REFERENCE_DOC_PATH)}`], {
    input: text,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`biome format failed: ${run.stderr}`);
  return run.stdout;
}

/** The reference document for the schemas in this checkout, formatted. */
export function currentReferenceDoc(): string {
  const read = (url: URL) => JSON.parse(readFileSync(url, 'utf8')) as Schema;
  return formatMarkdown(referenceDoc(read(CONFIG_SCHEMA_PATH), read(CATALOG_SCHEMA_PATH)));
}
