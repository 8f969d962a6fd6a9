/**
 * `warrant budget show|set` against a real STS (with budgets configured) in this process: the admin API
 * answers, the override is recorded, bad arguments are usage errors, a wrong admin token is refused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { warrantAt } from './support/cli.ts';
import { ADMIN_TOKEN, type Harness, startHarness } from './support/sts-harness.ts';

let h: Harness;

before(async () => {
  h = await startHarness({
    overrides: {
      guard: {
        budgets: [
          {
            name: 'payments-per-agent',
            scope: 'agent',
            period: 'total',
            quantity: { parameter: 'amount' },
            actions: ['payments:*'],
            limit: 500,
            onExceed: 'deny',
          },
        ],
      },
    },
  });
});
after(async () => {
  await h?.close();
});

const warrant = (args: readonly string[], token = ADMIN_TOKEN) => warrantAt(h.url, args, token);

test('budget show lists the budgets; budget set overrides a limit with its reason', async () => {
  const shown = await warrant(['budget', 'show']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /payments-per-agent\n {2}counts +parameter amount per agent/);
  assert.match(shown.stdout, /limit +500\n/);
  assert.match(shown.stdout, /spent +nothing yet/);
  const set = await warrant(['budget', 'set', 'payments-per-agent', '750.5', '--reason', 'quarter end']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /limit +750\.5 \(configured 500; set by admin at .*: quarter end\)/);
  const json = await warrant(['budget', 'show', 'payments-per-agent', '--json']);
  const view = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(view['limit'], 750.5);
  assert.equal(view['configuredLimit'], 500);
  const [change] = await h.plane.guard.store.changes.of('budget', 'payments-per-agent');
  assert.equal(change?.reason, 'quarter end');
});

test('bad arguments are usage errors (exit 2); an unknown budget or a wrong admin token fails (exit 1)', async () => {
  for (const args of [
    ['budget', 'set', 'payments-per-agent', '-5', '--reason', 'x'],
    ['budget', 'set', 'payments-per-agent', '1e9', '--reason', 'x'],
    ['budget', 'set', 'payments-per-agent', '100'],
    ['budget', 'set', 'payments-per-agent'],
    ['budget', 'show', 'a', 'b'],
  ]) {
    const r = await warrant(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const unknown = await warrant(['budget', 'show', 'nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no such budget/);
  const denied = await warrant(
    ['budget', 'set', 'payments-per-agent', '1', '--reason', 'x'],
    'wrong-token-0123456789',
  );
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /admin/i);
});

test('--help of each budget command exits 0 with examples', async () => {
  for (const sub of ['show', 'set']) {
    const r = await warrant(['budget', sub, '--help']);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.startsWith(`Usage: warrant budget ${sub}`));
    assert.match(r.stdout, /Examples?:\n {2}warrant budget /);
  }
});
