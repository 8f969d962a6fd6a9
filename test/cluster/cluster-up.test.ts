/**
 * The process model (issue 14): 2 control planes (`warrant serve`) and 2 gateways (`warrant gateway`) as
 * real processes from ONE configuration file, on their own PostgreSQL and Redis, started by the cluster
 * launcher behind their fronts. A call through either gateway replica and through the front is answered;
 * the decisions reach the one replicated ledger; `warrant cluster up` prints its addresses and SIGTERM stops
 * every child it started.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ClusterWorld, startClusterWorld } from '../support/cluster-world.ts';

let world: ClusterWorld;
before(async () => {
  world = await startClusterWorld();
});
after(async () => {
  await world?.close();
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('2 control planes + 2 gateways from one file: calls through each replica and the front, one ledger', async () => {
  const { cluster } = world;
  assert.deepEqual(
    cluster.members.map((m) => `${m.name}:${m.role}`),
    ['cp-1:control-plane', 'cp-2:control-plane', 'gw-1:gateway', 'gw-2:gateway'],
  );
  assert.equal(new Set(cluster.members.map((m) => m.port)).size, 4, 'one port each');
  const agent = await world.agent('caller');
  const warrant = await world.warrant(agent);
  for (const base of [world.member('gw-1').url, world.member('gw-2').url, cluster.gatewayUrl]) {
    const r = await world.call(base, agent, warrant);
    assert.equal(r.status, 200, `${base}: ${await r.text()}`);
    await r.arrayBuffer().catch(() => {});
  }
  // Both control planes answer the same issuer's JWKS; the front serves the ledger's checkpoint.
  const jwks = await Promise.all(
    ['cp-1', 'cp-2'].map(async (n) => (await fetch(`${world.member(n).url}/jwks`)).json()),
  );
  assert.deepEqual(jwks[0], jwks[1]);
  let size = 0;
  for (let i = 0; i < 200 && size < 3; i++) {
    const r = await fetch(`${cluster.stsUrl}/ledger/checkpoint`);
    const text = await r.text();
    if (r.status === 200) size = Number(text.split('\n')[1]);
    if (size < 3) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(size >= 3, 'the three decisions were integrated into the one ledger');
});

test('warrant cluster up prints the addresses and SIGTERM stops every child it started', async () => {
  await world.cluster.stop(); // free the ports; the same file starts the CLI's cluster
  const bin = fileURLToPath(new URL('../../bin/warrant.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'cluster', 'up', '--config', world.configFile, '--quiet'], {
    env: { ...process.env, WARRANT_ADMIN_TOKEN: 'x'.repeat(32), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  const up = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      err += d;
      if (/gw-2 gateway \S+ pid \d+/.test(err)) resolve();
    });
    child.once('exit', () => reject(new Error(`cluster up exited early:\n${err}`)));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await up;
    const pids = [...err.matchAll(/ pid (\d+)\n/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 4, err);
    assert.match(
      err,
      /control planes at http:\/\/127\.0\.0\.1:\d+ \(issuer\), gateways at http:\/\/127\.0\.0\.1:\d+/,
    );
    assert.ok(pids.every(alive));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.deepEqual(pids.filter(alive), [], 'no child left running');
  } finally {
    child.kill('SIGKILL');
  }
});
