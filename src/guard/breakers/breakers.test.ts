import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { BreakersConfig } from '../../config/types.ts';
import { MemoryCounters } from '../counters/memory-counters.ts';
import { type GuardStore, openGuardStore } from '../store/open-guard-store.ts';
import { type BreakerSubject, Breakers } from './breakers.ts';
import { BREAKER_DEFAULTS, breakerSettings } from './settings.ts';
import { kindOf } from './state.ts';

const T = 1_800_000_000;
const A: BreakerSubject = { agent: 'spiffe://t/agent/a', txn: 'txn-1', destination: 'https://crm' };
const ACTOR = 'gateway:g1';

let store: GuardStore;
beforeEach(async () => {
  store = await openGuardStore({ store: { kind: 'sqlite' }, dataDir: '/nonexistent' }, { path: ':memory:' });
});
afterEach(() => store.close());

function breakers(settings: Partial<BreakersConfig>): Breakers {
  return new Breakers(
    new MemoryCounters(),
    store,
    breakerSettings({ guard: { breakers: settings as BreakersConfig } }),
  );
}

async function calls(b: Breakers, n: number, subject = A, now = T): Promise<number> {
  let passed = 0;
  for (let i = 0; i < n; i++) if ((await b.check(subject, now, ACTOR)).refusal === undefined) passed++;
  return passed;
}

describe('breakers', () => {
  test('settings: partial overrides keep the other defaults', () => {
    const s = breakerSettings({
      guard: { breakers: { maxCalls: { agent: 5 } } as unknown as BreakersConfig },
    });
    assert.equal(s.maxCalls.agent, 5);
    assert.equal(s.maxCalls.txn, BREAKER_DEFAULTS.maxCalls.txn);
    assert.equal(s.cooldownSeconds, 60);
  });

  test('the hard cap trips the agent breaker on the call that crosses it; open refuses with the rest of the cooldown', async () => {
    const b = breakers({ maxCalls: { agent: 3, txn: 100, destination: 100 }, cooldownSeconds: 30 });
    assert.equal(await calls(b, 3), 3);
    const tripped = await b.check(A, T + 1, ACTOR);
    assert.equal(tripped.refusal?.key, `agent:${A.agent}`);
    assert.match(
      tripped.refusal!.reason,
      /agent breaker .* is open: 4 calls in the current 60 s window \(cap 3\)/,
    );
    assert.equal(tripped.refusal?.retryAfter, 30);
    const other = await b.check({ ...A, txn: 'txn-2', destination: 'https://mail' }, T + 11, ACTOR);
    assert.equal(other.refusal?.retryAfter, 20, 'every call of the agent, any txn or destination');
    assert.deepEqual(
      other.breakers.map((v) => [v.kind, v.state]),
      [
        ['agent', 'open'],
        ['txn', 'closed'],
        ['destination', 'closed'],
      ],
    );
    const history = await store.changes.of('breaker', `agent:${A.agent}`);
    assert.equal(history.length, 1);
    assert.deepEqual(
      [history[0]!.actor, history[0]!.detail['action'], history[0]!.detail['trigger']],
      [ACTOR, 'trip', 'rate_cap'],
    );
    const other2 = await b.check({ ...A, agent: 'spiffe://t/agent/b' }, T + 12, ACTOR);
    assert.equal(other2.refusal, undefined, 'another agent is not affected');
  });

  test('half-open after the cooldown: limited probes; a success closes, a failure re-opens', async () => {
    const b = breakers({
      maxCalls: { agent: 2, txn: 100, destination: 100 },
      cooldownSeconds: 30,
      windowSeconds: 60,
    });
    await calls(b, 3, A, T);
    const later = T + 120; // a new window: the loop has stopped
    const probe = await b.check(A, later, ACTOR);
    assert.equal(probe.refusal, undefined);
    assert.deepEqual(probe.probes, [`agent:${A.agent}`]);
    assert.equal(probe.signals.breaker, 'half_open');
    const second = await b.check(A, later, ACTOR);
    assert.match(second.refusal!.reason, /half-open, its probe calls are in flight/);
    await b.observe(A, { denied: false, failed: true, probes: probe.probes }, later, ACTOR);
    const reopened = await b.check(A, later + 1, ACTOR);
    assert.equal(reopened.refusal?.retryAfter, 29, 'opened again for a full cooldown');
    const probe2 = await b.check(A, later + 200, ACTOR);
    assert.deepEqual(probe2.probes, [`agent:${A.agent}`]);
    await b.observe(A, { denied: false, failed: false, probes: probe2.probes }, later + 200, ACTOR);
    const closed = await b.check(A, later + 260, ACTOR);
    assert.equal(closed.refusal, undefined);
    assert.equal(closed.breakers[0]!.state, 'closed');
    const actions = (await store.changes.of('breaker', `agent:${A.agent}`)).map((c) => c.detail['action']);
    assert.deepEqual(actions, ['close', 'trip', 'trip'], 'newest first');
  });

  test('deviation from the moving baseline trips above factor × baseline and the floor', async () => {
    const b = breakers({
      maxCalls: { agent: 10_000, txn: 10_000, destination: 10_000 },
      baseline: { factor: 3, floor: 20, alpha: 0.5 },
    });
    for (let w = 0; w < 4; w++) assert.equal(await calls(b, 10, A, T + w * 60), 10, 'a steady 10 per minute');
    assert.equal(await calls(b, 30, A, T + 240), 30, '30 is 3 × the baseline, not above it');
    const spike = await b.check(A, T + 241, ACTOR);
    assert.match(
      spike.refusal!.reason,
      /31 calls .* over 3 × the moving baseline 10\.0 \(and over the floor 20\)/,
    );
    assert.ok(spike.signals.anomaly > 0 && spike.signals.anomaly < 1, String(spike.signals.anomaly));
  });

  test('repeated failures trip the agent→destination breaker; repeated denials the agent and txn breakers', async () => {
    const b = breakers({ maxFailures: 2, maxDenials: 3 });
    for (let i = 0; i < 3; i++) await b.observe(A, { denied: false, failed: true, probes: [] }, T, ACTOR);
    const failing = await b.check(A, T + 1, ACTOR);
    assert.equal(failing.refusal?.key, `agent:${A.agent}`, 'the agent breaker counts failures too');
    const views = Object.fromEntries(failing.breakers.map((v) => [v.kind, v.trigger]));
    assert.equal(views['destination'], 'failures');
    const c = breakers({ maxDenials: 3 });
    for (let i = 0; i < 4; i++) await c.observe(A, { denied: true, failed: false, probes: [] }, T, ACTOR);
    const denied = await c.check({ ...A, agent: 'spiffe://t/agent/other' }, T + 1, ACTOR);
    assert.equal(denied.refusal?.key, 'txn:txn-1', 'another agent in the same txn is refused too');
    assert.match(denied.refusal!.reason, /4 denied calls in the current 60 s window \(at most 3\)/);
  });

  test('a txn touching too many systems trips the txn breaker', async () => {
    const b = breakers({ txnSystems: { max: 2, learnTxns: 0 } });
    assert.equal((await b.check({ ...A, destination: 'https://a' }, T, ACTOR)).refusal, undefined);
    assert.equal((await b.check({ ...A, destination: 'https://b' }, T, ACTOR)).refusal, undefined);
    const third = await b.check({ ...A, destination: 'https://c' }, T, ACTOR);
    assert.equal(third.refusal?.key, 'txn:txn-1');
    assert.match(third.refusal!.reason, /touches 3 distinct systems \(at most 2\)/);
    const again = await b.check({ ...A, destination: 'https://a' }, T + 1, ACTOR);
    assert.equal(again.refusal?.key, 'txn:txn-1', 'the whole txn stays refused');
  });

  test('after its learning txns, a combination of systems the agent never used trips the txn breaker; a reset learns it', async () => {
    const b = breakers({ txnSystems: { max: 16, learnTxns: 2 } });
    const txn = (t: string, destination: string) => b.check({ ...A, txn: t, destination }, T, ACTOR);
    // Learning: crm+mail and crm alone.
    await txn('l1', 'https://crm');
    await txn('l1', 'https://mail');
    await txn('l2', 'https://crm');
    // Past learning: crm+mail again is known; crm+payments is novel.
    await txn('t3', 'https://crm');
    assert.equal((await txn('t3', 'https://mail')).refusal, undefined, 'a known combination');
    await txn('t4', 'https://crm');
    const novel = await txn('t4', 'https://payments');
    assert.equal(novel.refusal?.key, 'txn:t4');
    assert.match(
      novel.refusal!.reason,
      /combines systems https:\/\/crm, https:\/\/payments: a combination this agent never used/,
    );
    assert.equal(await b.reset('txn:t4', T + 1, 'admin', 'expected: refunds need the CRM'), true);
    assert.equal(
      (await b.check({ ...A, txn: 't4', destination: 'https://crm' }, T + 2, ACTOR)).refusal,
      undefined,
    );
    await txn('t5', 'https://payments');
    assert.equal((await txn('t5', 'https://crm')).refusal, undefined, 'the reset combination is learned');
    const [reset] = await store.changes.of('breaker', 'txn:t4');
    assert.deepEqual(
      [reset!.actor, reset!.reason, reset!.detail['action']],
      ['admin', 'expected: refunds need the CRM', 'reset'],
    );
  });

  test('a reset closes an open breaker and forgets its window; a bad key is refused', async () => {
    const b = breakers({ maxCalls: { agent: 2, txn: 100, destination: 100 } });
    await calls(b, 3);
    assert.ok((await b.check(A, T, ACTOR)).refusal);
    assert.equal((await b.list(T)).length, 1);
    assert.equal(await b.reset(`agent:${A.agent}`, T, 'admin', 'loop fixed'), true);
    assert.deepEqual(await b.list(T), []);
    assert.equal(await calls(b, 2), 2, 'the window starts afresh');
    assert.equal(await b.reset(`agent:${A.agent}`, T, 'admin', 'again'), false, 'was closed');
    await assert.rejects(b.reset('nothing', T, 'admin', 'x'), TypeError);
  });
});

test('breaker keys name their kind', () => {
  assert.equal(kindOf('agent:spiffe://x/agent/a'), 'agent');
  assert.equal(kindOf('txn:abc'), 'txn');
  assert.equal(kindOf('destination:spiffe://x/agent/a https://crm'), 'destination');
  for (const bad of ['agent:', 'destination:onlyone', 'other:x', 'nothing'])
    assert.equal(kindOf(bad), undefined, bad);

  test('contain trips a txn breaker: it stays open past the cooldown, other processes apply the recorded trip, a reset closes it', async () => {
    const here = breakers({});
    const elsewhere = breakers({});
    const now = Math.floor(Date.now() / 1000);
    await here.trip({ txn: 'txn-1' }, 'run r1');
    const refused = await here.check(A, now + 7 * 24 * 3600, ACTOR);
    assert.equal(refused.refusal?.key, 'txn:txn-1');
    assert.match(refused.refusal?.reason ?? '', /contained: run r1/);
    const [trip] = await store.changes.of('breaker', 'txn:txn-1');
    assert.deepEqual(
      [trip!.actor, trip!.detail['action'], trip!.detail['trigger']],
      ['contain', 'trip', 'contained'],
    );
    // Another process with its own memory counters applies the recorded state (the runtime's watcher does).
    assert.equal((await elsewhere.check(A, now, ACTOR)).refusal, undefined);
    await elsewhere.applyTrip(trip!.detail['state'] as never, now);
    assert.equal((await elsewhere.check(A, now, ACTOR)).refusal?.key, 'txn:txn-1');
    assert.equal(await here.reset('txn:txn-1', now, 'admin', 'contained work reviewed'), true);
    assert.equal((await here.check(A, now, ACTOR)).refusal, undefined);
  });
});
