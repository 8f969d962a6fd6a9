import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DATA_CLASSES } from '../core/grants/index.ts';
import { ActionCatalog, type CatalogAction, CatalogError, catalogSchema } from './catalog.ts';

const refund: CatalogAction = {
  name: 'payments:refund',
  match: { protocol: 'http', method: 'POST', path: '/payments/refunds' },
  impact: 'high',
  dataClass: 'confidential',
  reversibility: 'compensable',
  blastRadius: 1,
  parameters: {
    amount: { in: 'body', pointer: '/refund/amount' },
    currency: { in: 'header', name: 'X-Currency' },
    rows: { in: 'query', name: 'limit' },
    'a~b': { in: 'body', pointer: '/x' },
  } as CatalogAction['parameters'],
};

const dir = mkdtempSync(join(tmpdir(), 'warrant-catalog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The path a bad catalog fails at (and that it fails as a CatalogError). */
function failsAt(actions: unknown[]): string {
  try {
    new ActionCatalog(actions as CatalogAction[]);
  } catch (error) {
    assert.ok(error instanceof CatalogError, String(error));
    assert.equal(error.code, 'WARRANT_CONFIG_INVALID');
    return error.path;
  }
  assert.fail('the catalog was accepted');
}

describe('action catalog', () => {
  test('the schema is a draft 2020-12 schema with closed objects', () => {
    assert.equal(catalogSchema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(catalogSchema['additionalProperties'], false);
  });

  test("the schema's data classes are the core's, in its order", () => {
    const action = (
      catalogSchema['$defs'] as Record<string, { properties: Record<string, { enum: string[] }> }>
    )['action'];
    assert.deepEqual(action?.properties['dataClass']?.enum, [...DATA_CLASSES]);
  });

  test('parameters are compiled once: pointer tokens decoded, header names lower-cased', () => {
    const withoutOdd = { ...refund, parameters: { ...refund.parameters } } as Record<string, unknown>;
    delete (withoutOdd['parameters'] as Record<string, unknown>)['a~b'];
    const action = new ActionCatalog([withoutOdd as unknown as CatalogAction]).actions[0]!;
    assert.deepEqual(action.compiled.get('amount'), {
      name: 'amount',
      in: 'body',
      path: ['refund', 'amount'],
      key: '',
    });
    assert.equal(action.compiled.get('currency')?.key, 'x-currency');
    assert.equal(action.compiled.get('rows')?.key, 'limit');
    assert.equal(action.readsBody, true);
    assert.ok(Object.isFrozen(action) && Object.isFrozen(action.parameters));
    const escaped = new ActionCatalog([
      { ...refund, parameters: { amount: { in: 'body', pointer: '/a~1b/~0c/0' } } },
    ]).actions[0]!;
    assert.deepEqual(escaped.compiled.get('amount')?.path, ['a/b', '~c', '0']);
  });

  test('defaults are filled in from the schema', () => {
    const a = new ActionCatalog([{ name: 'x', match: { protocol: 'mcp', tool: 't' } } as CatalogAction])
      .actions[0]!;
    assert.equal(a.impact, 'medium');
    assert.equal(a.dataClass, 'internal');
    assert.equal(a.reversibility, 'irreversible');
    assert.equal(a.blastRadius, 1);
    assert.equal(a.readsBody, false);
  });

  test('a bad catalog fails naming the JSON pointer of the failing entry', () => {
    const base = { ...refund, parameters: { amount: { in: 'body', pointer: '/amount' } } };
    const cases: [unknown, string][] = [
      [{ ...base, impact: 'huge' }, '/actions/0/impact'],
      [{ ...base, extra: 1 }, '/actions/0/extra'],
      [{ ...base, match: { protocol: 'http', path: '/x', tool: 'y' } }, '/actions/0/match/tool'],
      [{ ...base, match: { protocol: 'gopher', path: '/x' } }, '/actions/0/match/protocol'],
      [{ ...base, parameters: { amount: { in: 'body' } } }, '/actions/0/parameters/amount/pointer'],
      [
        { ...base, parameters: { amount: { in: 'body', pointer: 'amount' } } },
        '/actions/0/parameters/amount/pointer',
      ],
      [
        { ...base, parameters: { amount: { in: 'body', pointer: '/a~2' } } },
        '/actions/0/parameters/amount/pointer',
      ],
      [
        { ...base, parameters: { amount: { in: 'query', name: 'a', pointer: '/a' } } },
        '/actions/0/parameters/amount/pointer',
      ],
      [
        { ...base, parameters: { amount: { in: 'header', name: 'bad header' } } },
        '/actions/0/parameters/amount/name',
      ],
      [{ ...base, parameters: { amount: { in: 'cookie', name: 'a' } } }, '/actions/0/parameters/amount/in'],
      [
        { ...base, parameters: { max_amount: { in: 'query', name: 'a' } } },
        '/actions/0/parameters/max_amount',
      ],
      [{ ...base, parameters: { Amount: { in: 'query', name: 'a' } } }, '/actions/0/parameters/Amount'],
      // An http call has no JSON-RPC arguments; an MCP call's values are in its arguments, not a body.
      [
        { ...base, parameters: { amount: { in: 'arguments', pointer: '/a' } } },
        '/actions/0/parameters/amount/in',
      ],
      [
        {
          name: 'm',
          match: { protocol: 'mcp', tool: 'refund' },
          parameters: { amount: { in: 'body', pointer: '/a' } },
        },
        '/actions/0/parameters/amount/in',
      ],
      [{ name: 'm', match: { protocol: 'mcp' } }, '/actions/0/match'],
    ];
    for (const [action, path] of cases) assert.equal(failsAt([action]), path, JSON.stringify(action));
    assert.equal(failsAt([base, base]), '/actions/1/name');
  });

  test('fromFile names the file and the path; YAML with a duplicate key is refused', () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      [
        '$schema: ./catalog.schema.json',
        'actions:',
        '  - name: payments:refund',
        '    match: { protocol: http, method: POST, path: /payments/refunds }',
        '    parameters:',
        '      amount: { in: body, pointer: /amount }',
        '',
      ].join('\n'),
    );
    assert.equal(ActionCatalog.fromFile(good).actions[0]!.compiled.get('amount')?.path[0], 'amount');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'actions:\n  - name: x\n    match: { protocol: http, path: /x }\n    parameters:\n      amount: { in: body, pointer: amount }\n',
    );
    assert.throws(
      () => ActionCatalog.fromFile(bad),
      (error: unknown) => {
        assert.ok(error instanceof CatalogError);
        assert.equal(error.file, bad);
        assert.equal(error.path, '/actions/0/parameters/amount/pointer');
        assert.match(
          error.message,
          /^action catalog .*bad\.yaml at \/actions\/0\/parameters\/amount\/pointer: /,
        );
        return true;
      },
    );
    const dup = join(dir, 'dup.yaml');
    writeFileSync(dup, 'actions: []\nactions: []\n');
    assert.throws(() => ActionCatalog.fromFile(dup), { code: 'WARRANT_CONFIG_INVALID' });
    const top = join(dir, 'top.yaml');
    writeFileSync(top, 'actions: []\nversion: 2\n');
    assert.throws(
      () => ActionCatalog.fromFile(top),
      (error: unknown) => {
        assert.ok(error instanceof CatalogError);
        assert.equal(error.path, '/version');
        return true;
      },
    );
  });
});
