import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The core is the part the SDK, the STS and the gateway share, and the part that runs outside Node later
 * (DESIGN §1): it depends on nothing of the server. Its modules import only each other and `node:`
 * built-ins; its tests may also use the shared test harnesses (`test/support/`) and `fast-check`.
 */

const SELF = fileURLToPath(import.meta.url);
const CORE = dirname(SELF);
const SUPPORT = resolve(CORE, '../../test/support');

/** Every module specifier a TypeScript source names: static imports and re-exports, side-effect and dynamic imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\b(?:import|require)\s*\(\s*(['"])([^'"]+)\1/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[2]!);
  return found;
}

/** Why `specifier`, named by the file at `file`, leaves what the core may use; undefined when it does not. */
function violation(file: string, specifier: string): string | undefined {
  const isTest = file.endsWith('.test.ts');
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier);
    if (target === CORE || target.startsWith(CORE + sep)) return undefined;
    if (isTest && target.startsWith(SUPPORT + sep)) return undefined;
    return `imports ${specifier}, outside src/core`;
  }
  if (specifier.startsWith('node:')) return undefined;
  if (isTest && specifier === 'fast-check') return undefined;
  return `imports the package ${specifier}`;
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

describe('the core imports nothing outside src/core', () => {
  test('no module or test under src/core imports the server, its adapters or a package', () => {
    const problems: string[] = [];
    let files = 0;
    for (const file of sources(CORE)) {
      files++;
      if (file === SELF) continue; // its own examples below are violations on purpose
      for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
        const why = violation(file, specifier);
        if (why !== undefined) problems.push(`src/core/${relative(CORE, file)} ${why}`);
      }
    }
    assert.ok(files > 40, `scanned ${files} files`);
    assert.deepEqual(problems, []);
  });

  test('the scan sees every form of import', () => {
    const source = [
      "import type { ReplayCache } from '../../replay/replay-cache.ts';",
      'import {',
      '  a,',
      '  b,',
      "} from '../../gateway/trust.ts';",
      "export * from '../../sts/sts.ts';",
      "export { x } from 'ioredis';",
      "import '../../telemetry/setup.ts';",
      "const m = await import('../../store/open-store.ts');",
    ].join('\n');
    assert.deepEqual(specifiers(source), [
      '../../replay/replay-cache.ts',
      '../../gateway/trust.ts',
      '../../sts/sts.ts',
      'ioredis',
      '../../telemetry/setup.ts',
      '../../store/open-store.ts',
    ]);
  });

  test('a module may import the core and node: built-ins only; a test also the shared harnesses', () => {
    const module = join(CORE, 'dpop', 'verify-proof.ts');
    const testFile = join(CORE, 'dpop', 'verify-proof.test.ts');
    assert.equal(violation(module, '../jose/jws.ts'), undefined);
    assert.equal(violation(module, 'node:crypto'), undefined);
    assert.equal(
      violation(module, '../../replay/replay-cache.ts'),
      'imports ../../replay/replay-cache.ts, outside src/core',
    );
    assert.equal(violation(module, 'ioredis'), 'imports the package ioredis');
    assert.equal(
      violation(module, '../../../test/support/chains.ts'),
      'imports ../../../test/support/chains.ts, outside src/core',
    );
    assert.equal(violation(module, 'fast-check'), 'imports the package fast-check');
    assert.equal(violation(testFile, '../../../test/support/chains.ts'), undefined);
    assert.equal(violation(testFile, 'fast-check'), undefined);
    assert.equal(
      violation(testFile, '../../replay/index.ts'),
      'imports ../../replay/index.ts, outside src/core',
    );
  });
});
