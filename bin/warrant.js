#!/usr/bin/env node
// The `warrant` command: a shim that runs the TypeScript entry point with Node's type stripping.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `warrant needs Node.js 24 or later (this is ${process.version}).\n` +
      'Run `npm install` in the repository and use `npx warrant`, which uses the Node 24 it installs.\n',
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
