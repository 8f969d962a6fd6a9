#!/usr/bin/env node
// The `warrant` command. In the repository it runs the TypeScript entry point with Node's type stripping;
// installed from the package (which ships no sources: inside node_modules Node strips no types) it runs the
// built JavaScript.
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `warrant needs Node.js 24 or later (this is ${process.version}).\n` +
      'Run `npm install` in the repository and use `npx warrant`, which uses the Node 24 it installs.\n',
  );
  process.exit(1);
}
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : '../dist/src/cli/main.js');
