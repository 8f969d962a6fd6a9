/**
 * Builds the dashboard's front-end (dashboard/, React + Vite) into dashboard/dist/, which the control plane
 * serves under /ui. `npm install` / `npm ci` run it (`prepare`); `npm start` runs it with `--if-missing`
 * (only when no build is there). Vite runs through its API with dashboard/vite.config.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dashboard', 'dist', 'index.html');

if (process.argv.includes('--if-missing') && existsSync(out)) process.exit(0);
let vite: typeof import('vite');
try {
  vite = await import('vite');
} catch {
  // An install without the devDependencies (a production install) cannot build it; /ui then says so.
  console.warn('warrant: vite is not installed, the dashboard is not built');
  process.exit(0);
}
await vite.build({ configFile: join(root, 'dashboard', 'vite.config.ts'), logLevel: 'warn' });
if (!existsSync(out)) throw new Error('the dashboard build wrote no index.html');
