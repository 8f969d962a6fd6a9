import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { currentReferenceDoc, REFERENCE_DOC_PATH, referenceDoc } from './reference-doc.ts';

test('docs/configuration-reference.md is what the schemas generate (run `npm run docs:config` when this fails)', () => {
  const committed = readFileSync(REFERENCE_DOC_PATH, 'utf8');
  assert.ok(
    committed === currentReferenceDoc(),
    'docs/configuration-reference.md is stale: run npm run docs:config',
  );
});

test('every option of a schema is a row with its type, default, limits and description; $defs are sections', () => {
  const doc = referenceDoc(
    {
      $id: 'urn:test:config',
      type: 'object',
      required: ['name'],
      properties: {
        $schema: { type: 'string' },
        name: { description: 'The name | with a pipe.', type: 'string', minLength: 1 },
        mode: { enum: ['a', 'b'], default: 'a' },
        limits: {
          type: 'object',
          default: {},
          properties: { max: { type: 'integer', minimum: 1, maximum: 10, default: 5 } },
        },
        routes: { type: 'array', items: { $ref: '#/$defs/route' } },
      },
      $defs: { route: { type: 'object', properties: { path: { type: 'string', pattern: '^/' } } } },
    },
    { $id: 'urn:test:catalog', type: 'object', properties: {} },
  );
  const lines = doc.split('\n');
  assert.ok(lines.includes('| `name` (required) | string |  | length ≥ 1 | The name \\| with a pipe. |'));
  assert.ok(lines.includes('| `mode` | `"a"` \\| `"b"` | `"a"` |  |  |'));
  assert.ok(lines.includes('| `limits` | object |  |  |  |'));
  assert.ok(lines.includes('| `limits.max` | integer | `5` | ≥ 1, ≤ 10 |  |'));
  assert.ok(lines.includes('| `routes` | array of [route](#config-route) |  |  |  |'));
  assert.ok(lines.includes('<a id="config-route"></a>'));
  assert.ok(lines.includes('| `path` | string |  | pattern `^/` |  |'));
  assert.ok(!doc.includes('$schema`'), 'the editor hint is not an option');
});
