/**
 * Builds the installable package (`npm pack` runs it as `prepack`): `tsc -p tsconfig.build.json` emits
 * JavaScript and declarations for `src/` into `dist/src/` (Node does not strip types inside node_modules, so
 * consumers need JavaScript), then the files the code reads at run time beside it are copied where the
 * built code looks for them (`dist/policies/`, as `src/policy/policy-set.ts` reads `../../policies/`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
cpSync(join(root, 'policies'), join(dist, 'policies'), { recursive: true });
// The dashboard's front-end, built by `npm install` (scripts/build-dashboard.ts), where the built code looks.
execFileSync(process.execPath, [join(root, 'scripts/build-dashboard.ts'), '--if-missing'], {
  stdio: 'inherit',
});
if (existsSync(join(root, 'dashboard/dist/index.html')))
  cpSync(join(root, 'dashboard/dist'), join(dist, 'dashboard'), { recursive: true });
