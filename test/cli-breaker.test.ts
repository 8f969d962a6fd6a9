/**
 * `warrant breaker list|reset` against a real STS (its admin API and guard store): the listing shows the
 * recorded trips, a reset is recorded with its reason, bad keys are refused, and `--help` has examples.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { warrantAt } from './support/cli.ts';
import { ADMIN_TOKEN, type Harness, startHarness } from './support/sts-harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

const warrant = (args: readonly string[], token = ADMIN_TOKEN) => warrantAt(h.url, args, token);

test('breaker list shows open breakers and history; reset closes one and is recorded; bad keys and tokens are refused', async () => {
  const guard = h.plane.guard;
  const key = 'agent:spiffe://warrant.test/agent/looper';
  // A trip as a gateway sharing this guard (warrant dev) records it.
  await guard.store.changes.record({
    time: guard.now(),
    kind: 'breaker',
    subject: key,
    actor: 'gateway:g1',
    reason: 'loop',
    detail: { action: 'trip', trigger: 'rate_cap' },
  });
  await guard.counters.run(
    [
      {
        op: 'cas',
        key: `s:${key}`,
        expect: null,
        value: JSON.stringify({
          kind: 'agent',
          key,
          trigger: 'rate_cap',
          reason: '9 calls (cap 8)',
          openedAt: guard.now(),
          until: guard.now() + 60,
          agent: 'spiffe://warrant.test/agent/looper',
        }),
        ttl: 120,
      },
    ] as const,
    guard.now(),
  );
  const listed = await warrant(['breaker', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^OPEN {2}agent:spiffe:\/\/warrant\.test\/agent\/looper until /m);
  assert.match(listed.stdout, /rate_cap: 9 calls \(cap 8\)/);
  assert.match(listed.stdout, /trip +agent:spiffe:\/\/warrant\.test\/agent\/looper {2}by gateway:g1: loop/);

  const reset = await warrant(['breaker', 'reset', key, '--reason', 'loop fixed', '--json']);
  assert.equal(reset.code, 0, reset.stderr);
  assert.deepEqual(JSON.parse(reset.stdout), { key, reset: true, wasOpen: true });
  const json = JSON.parse((await warrant(['breaker', 'list', '--json'])).stdout) as {
    open: unknown[];
    history: { action: string; actor: string; reason: string }[];
  };
  assert.deepEqual(json.open, []);
  assert.deepEqual(
    [json.history[0]?.action, json.history[0]?.actor, json.history[0]?.reason],
    ['reset', 'admin', 'loop fixed'],
  );

  const bad = await warrant(['breaker', 'reset', 'planner']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /key must be agent:<agent id>, txn:<txn> or destination/);
  const wrong = await warrant(['breaker', 'reset', key], 'not-the-admin-token');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /WARRANT_ADMIN_AUTH_FAILED/);
});

test('breaker commands answer --help with examples', async () => {
  for (const name of ['list', 'reset']) {
    const { code, stdout } = await warrant(['breaker', name, '--help']);
    assert.equal(code, 0);
    assert.ok(stdout.startsWith(`Usage: warrant breaker ${name}`), stdout);
    assert.match(stdout, /Examples?:\n {2}warrant breaker /);
  }
});
