/**
 * The package as a consumer gets it (DESIGN §10): `npm pack` (which builds `dist/` through `prepack`) into a
 * temporary directory, the tarball unpacked into a scratch project's node_modules — its dependencies linked
 * from this repository's, so nothing is fetched — and then plain JavaScript imports `warrant/sdk` and
 * `warrant/verify` through the package's `exports` (Node strips no types inside node_modules: this proves
 * the built JavaScript is complete), and the `warrant` bin runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;
let scratch: string;
let tarball: string;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'warrant-package-'));
  const packed = join(scratch, 'packed');
  mkdirSync(packed);
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packed], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  });
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
  tarball = join(packed, info!.filename);
  const modules = join(scratch, 'app', 'node_modules');
  mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', modules]);
  renameSync(join(modules, 'package'), join(modules, 'warrant'));
  for (const name of readdirSync(join(repo, 'node_modules')))
    if (name !== 'warrant' && name !== '.bin')
      symlinkSync(join(repo, 'node_modules', name), join(modules, name));
  writeFileSync(join(scratch, 'app', 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
});

after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the tarball ships built JavaScript with declarations, the bin and no sources or tests', () => {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
  for (const f of [
    'package/package.json',
    'package/bin/warrant.js',
    'package/dist/src/sdk/index.js',
    'package/dist/src/sdk/index.d.ts',
    'package/dist/src/verify/index.js',
    'package/dist/src/verify/index.d.ts',
    'package/dist/src/cli/main.js',
    'package/dist/policies/action.cedar',
  ])
    assert.ok(files.includes(f), `${f} is in the package`);
  assert.deepEqual(
    files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    [],
    'no TypeScript sources (Node would not run them from node_modules)',
  );
  assert.deepEqual(
    files.filter((f) => /\.test\.|\/test\//.test(f)),
    [],
  );
  const manifest = JSON.parse(readFileSync(join(scratch, 'app/node_modules/warrant/package.json'), 'utf8'));
  assert.deepEqual(Object.keys(manifest.exports), [
    './sdk',
    './verify',
    './verify/neutral',
    './package.json',
  ]);
  assert.equal(manifest.bin.warrant, 'bin/warrant.js');
});

test('plain JavaScript imports warrant/sdk and warrant/verify through exports', () => {
  writeFileSync(
    join(scratch, 'app', 'main.js'),
    `import { createAgent, createWarrantFetch, generateAgentKey, TokenPool, exchange } from 'warrant/sdk';
import { verifyPresented, RevocationView } from 'warrant/verify';
const key = generateAgentKey();
console.log(JSON.stringify({
  sdk: [typeof createAgent, typeof createWarrantFetch, typeof TokenPool, typeof exchange],
  verify: [typeof verifyPresented, typeof RevocationView],
  alg: key.alg,
}));
`,
  );
  const out = execFileSync(node, ['main.js'], { cwd: join(scratch, 'app'), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), {
    sdk: ['function', 'function', 'function', 'function'],
    verify: ['function', 'function'],
    alg: 'EdDSA',
  });
  // Only what `exports` lists is importable: internals stay internal.
  writeFileSync(join(scratch, 'app', 'deep.js'), "await import('warrant/dist/src/sts/sts.js');\n");
  assert.throws(
    () => execFileSync(node, ['deep.js'], { cwd: join(scratch, 'app'), stdio: 'pipe' }),
    /ERR_PACKAGE_PATH_NOT_EXPORTED/,
  );
});

test('the installed bin runs the built CLI', () => {
  const bin = join(scratch, 'app/node_modules/warrant/bin/warrant.js');
  const help = execFileSync(node, [bin, '--help'], { encoding: 'utf8' });
  assert.match(help, /Usage: warrant <command>/);
  const keyFile = join(scratch, 'agent.jwk');
  const jwk = JSON.parse(
    execFileSync(node, [bin, 'keygen', '--out', keyFile], { encoding: 'utf8', stdio: 'pipe' }),
  );
  assert.equal(jwk.kty, 'OKP');
  assert.equal(jwk.d, undefined, 'the public half is printed');
});

test('a TypeScript consumer type-checks against the published declarations (strict, no skipLibCheck)', () => {
  const app = join(scratch, 'app');
  writeFileSync(
    join(app, 'consumer.ts'),
    `import { createAgent, type HopRequest, type WarrantAgent } from 'warrant/sdk';
import { verifyPresented } from 'warrant/verify';
const hop: HopRequest = { audience: 'https://tools.example/crm' };
export async function start(): Promise<WarrantAgent> {
  const agent = await createAgent({ issuer: 'https://sts.example', agentId: 'spiffe://example/agent/a', subject: { token: 't' } });
  const f: typeof fetch = agent.fetch(hop);
  void f;
  return agent;
}
export const verify = verifyPresented;
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2024',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  execFileSync(node, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', app], { stdio: 'pipe' });
});
