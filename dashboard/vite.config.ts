/**
 * The dashboard's front-end build (React + Vite): `npm run build:dashboard` (run by `npm install` through
 * `prepare`, and by `npm start` when the build is missing) writes dashboard/dist/, which the control plane
 * serves under /ui. Everything is bundled: nothing is loaded from a CDN at run time.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/ui/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // One CSS file and module scripts only: the CSP allows 'self', no inline code.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
