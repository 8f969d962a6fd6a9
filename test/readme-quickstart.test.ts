/**
 * The README's quickstart, run as written: its first code block's commands are read from the README,
 * the install step is checked (not run: it needs the network, and this checkout is installed already),
 * and the start command is run through npm — with a free port and a temporary data directory appended,
 * so it neither collides with a running `warrant dev` nor writes into the checkout — until the demo's
 * story has been told (bounded); then it must still be serving. The second block must be `npm test`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEMO_STORY } from './support/demo-story.ts';

const root = new URL('..', import.meta.url).pathname;

/** The shell code blocks of the README's Quickstart section, in order. */
function quickstartBlocks(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = /^## Quickstart\n([\s\S]*?)^## /m.exec(readme);
  assert.ok(section, 'the README has a Quickstart section');
  return [...section[1]!.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!.trim());
}

test('the README quickstart: `npm install && npm start` tells the demo story and keeps serving; then `npm test`', async () => {
  const [first, second] = quickstartBlocks();
  const commands = first!.split('&&').map((c) => c.trim());
  assert.equal(commands.length, 2, first);
  assert.match(commands[0]!, /^npm (install|ci)$/);
  // The install step is the lockfile's: what `npm install` / `npm ci` would install is here already.
  assert.ok(existsSync(join(root, 'package-lock.json')), 'npm ci needs the lockfile');
  assert.ok(existsSync(join(root, 'node_modules', '.bin', 'node')), 'installed: the node devDependency');
  assert.equal(commands[1], 'npm start');
  assert.equal(second, 'npm test');
  const scripts = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  assert.match(scripts['start']!, /\bdev --demo\b/, 'npm start runs the demo');

  const data = mkdtempSync(join(tmpdir(), 'warrant-quickstart-'));
  const [npm, ...args] = commands[1]!.split(/\s+/);
  const child = spawn(npm!, [...args, '--', '--port', '0', '--data', data], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      WARRANT_ADMIN_TOKEN: '',
      LOG_LEVEL: '',
      npm_config_update_notifier: 'false',
      npm_config_offline: 'true',
      npm_config_fund: 'false',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('The servers keep running') && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(stdout, /The servers keep running/, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    for (const [what, expected] of DEMO_STORY) assert.match(stdout, expected, what);
    const gateway = /gateway +(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    assert.equal((await fetch(`${gateway}/healthz`)).status, 200, 'still serving after the story');
  } finally {
    // npm runs the server as its child: stop the whole process group it leads.
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
    rmSync(data, { recursive: true, force: true });
  }
});
