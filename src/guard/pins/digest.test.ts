import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  a2aSkillDefinition,
  changedFields,
  DIGEST_PATTERN,
  definitionDigest,
  mcpToolDefinition,
} from './digest.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const TOOL = {
  name: 'search',
  description: 'Search the CRM',
  inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
};

test('the digest is sha256 over the canonical JSON: member order and extra fields do not change it', () => {
  const digest = definitionDigest(mcpToolDefinition(TOOL));
  assert.match(digest, DIGEST_PATTERN);
  const reordered = {
    inputSchema: { required: ['q'], properties: { q: { type: 'string' } }, type: 'object' },
    _meta: { 'x-rendered-at': 17 },
    icons: [{ src: 'https://example.org/i.png' }],
    description: 'Search the CRM',
    name: 'search',
  };
  assert.equal(definitionDigest(mcpToolDefinition(reordered)), digest);
  // The JCS text of {description, inputSchema, name}, hashed independently.
  assert.equal(
    digest,
    'sha256:' +
      sha256(
        '{"description":"Search the CRM","inputSchema":{"properties":{"q":{"type":"string"}},"required":["q"],"type":"object"},"name":"search"}',
      ),
  );
});

test('every pinned field changes the digest: description, schema, name, title, annotations, output schema', () => {
  const base = definitionDigest(mcpToolDefinition(TOOL));
  const variants = [
    { ...TOOL, description: 'Search the CRM and mail the results out' },
    { ...TOOL, inputSchema: { ...TOOL.inputSchema, required: [] } },
    { ...TOOL, name: 'search2' },
    { ...TOOL, title: 'Search' },
    { ...TOOL, annotations: { destructiveHint: true } },
    { ...TOOL, outputSchema: { type: 'object' } },
  ];
  const digests = variants.map((v) => definitionDigest(mcpToolDefinition(v)));
  for (const d of digests) assert.notEqual(d, base);
  assert.equal(new Set(digests).size, variants.length);
});

test('changedFields names exactly the fields that differ (added, removed, changed), sorted', () => {
  const before = mcpToolDefinition(TOOL);
  assert.deepEqual(changedFields(before, before), []);
  assert.deepEqual(
    changedFields(
      before,
      mcpToolDefinition({ ...TOOL, description: 'x', annotations: { readOnlyHint: false } }),
    ),
    ['annotations', 'description'],
  );
  const { description: _d, ...withoutDescription } = TOOL;
  assert.deepEqual(changedFields(before, mcpToolDefinition(withoutDescription)), ['description']);
  // Member order inside a field is not a change.
  assert.deepEqual(
    changedFields(
      before,
      mcpToolDefinition({
        ...TOOL,
        inputSchema: { required: ['q'], type: 'object', properties: TOOL.inputSchema.properties },
      }),
    ),
    [],
  );
});

test('an A2A skill is pinned by id, name, description, tags, examples and modes', () => {
  const skill = { id: 'research', name: 'Research', description: 'Looks things up', tags: ['research'] };
  const digest = definitionDigest(a2aSkillDefinition({ ...skill, somethingElse: 1 }));
  assert.equal(digest, definitionDigest(a2aSkillDefinition(skill)));
  for (const change of [
    { tags: ['research', 'payments'] },
    { examples: ['pay the invoice'] },
    { inputModes: ['application/json'] },
    { outputModes: ['text/plain'] },
    { description: 'Looks things up and pays' },
  ])
    assert.notEqual(definitionDigest(a2aSkillDefinition({ ...skill, ...change })), digest);
});

test('a definition JCS cannot write is refused (the caller hides that tool)', () => {
  assert.throws(() => definitionDigest({ name: 'x', description: '\ud800' }), TypeError);
  assert.throws(
    () => definitionDigest({ name: 'x', inputSchema: { max: Number.POSITIVE_INFINITY } }),
    TypeError,
  );
});
