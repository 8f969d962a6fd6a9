import assert from 'node:assert/strict';
import { guardStoreContract } from '../store/contract.ts';
import { type TrustRules, TrustStore } from './trust-store.ts';

const RULES: TrustRules = {
  levels: 3,
  initialLevel: 0,
  promotion: { calls: 3, minSeconds: 100 },
  demotion: { denials: 2, failures: 3, windowSeconds: 60 },
};
const A = 'spiffe://warrant.test/agent/a';
const clean = (n: number) => ({ clean: n, denials: 0, failures: 0 });

guardStoreContract('trust store', {
  'an unseen agent is created at the initial level; promotion needs both the clean calls and the time':
    async (store) => {
      const trust = new TrustStore(store, RULES);
      assert.equal(await trust.get(A), undefined);
      const first = await trust.tally(A, clean(5), 1000, 'guard');
      assert.deepEqual(first, { created: true }, 'enough calls, not enough time: no promotion');
      assert.equal((await trust.get(A))?.clean, 5);
      const later = await trust.tally(A, clean(1), 1100, 'guard');
      assert.equal(later.created, false);
      assert.equal(later.change?.from, 0);
      assert.equal(later.change?.to, 1);
      assert.match(later.change!.reason, /^promoted after 6 clean calls over 100 s$/);
      const standing = await trust.get(A);
      assert.deepEqual(
        [standing?.level, standing?.clean, standing?.since],
        [1, 0, 1100],
        'the record starts over',
      );
      const history = await trust.history(A);
      assert.equal(history.length, 1);
      assert.deepEqual(history[0]?.detail['to'], 1);
      assert.equal(history[0]?.actor, 'guard');
    },
  'a denial ends the clean record; denials within the window demote, and the level never goes below 0':
    async (store) => {
      const trust = new TrustStore(store, RULES);
      await trust.set(A, { level: 2, pinned: false }, 'start', 0, 'admin');
      await trust.tally(A, clean(2), 10, 'guard');
      await trust.tally(A, { clean: 0, denials: 1, failures: 0 }, 20, 'guard');
      assert.equal((await trust.get(A))?.clean, 0);
      // The window (60 s from the set at 0) ended: this denial starts a new one.
      const outside = await trust.tally(A, { clean: 0, denials: 1, failures: 0 }, 70, 'guard');
      assert.equal(outside.change, undefined);
      const demoted = await trust.tally(A, { clean: 0, denials: 1, failures: 0 }, 80, 'guard');
      assert.equal(demoted.change?.to, 1);
      assert.match(demoted.change!.reason, /^demoted after 2 denials within 60 s$/);
      const failures = await trust.tally(A, { clean: 0, denials: 0, failures: 3 }, 90, 'guard');
      assert.equal(failures.change?.to, 0);
      assert.match(failures.change!.reason, /3 failed outcomes/);
      assert.equal(
        (await trust.tally(A, { clean: 0, denials: 5, failures: 0 }, 95, 'guard')).change,
        undefined,
      );
      assert.equal((await trust.get(A))?.level, 0);
    },
  'a pinned level never moves by itself; demote() lowers an unpinned one; set() records the reason': async (
    store,
  ) => {
    const trust = new TrustStore(store, RULES);
    const pinned = await trust.set(A, { level: 3, pinned: true }, 'vetted', 5, 'admin');
    assert.match(pinned!.reason, /^set to level 3 and pinned by an operator: vetted$/);
    assert.equal(await trust.set(A, { level: 3, pinned: true }, 'again', 6, 'admin'), undefined);
    assert.equal((await trust.tally(A, { clean: 0, denials: 9, failures: 9 }, 7, 'guard')).change, undefined);
    assert.equal(await trust.demote(A, 'breaker tripped', 8, 'guard'), undefined);
    assert.equal((await trust.get(A))?.level, 3);
    const unpinned = await trust.set(A, { pinned: false }, 'incident closed', 9, 'admin');
    assert.match(unpinned!.reason, /unpinned at level 3/);
    const demoted = await trust.demote(A, 'breaker agent tripped', 10, 'gateway:g1');
    assert.deepEqual([demoted?.from, demoted?.to, demoted?.actor], [3, 2, 'gateway:g1']);
    assert.equal(demoted?.reason, 'demoted: breaker agent tripped');
    await assert.rejects(trust.set(A, { level: 4 }, 'too high', 11, 'admin'), RangeError);
    assert.deepEqual(
      (await trust.history(A)).map((c) => c.detail['to']),
      [2, 3, 3],
    );
    assert.deepEqual(
      (await trust.list()).map((s) => [s.agent, s.level, s.pinned]),
      [[A, 2, false]],
    );
  },
  'an autonomy digest is claimed once per version; a released claim can be taken again': async (store) => {
    const trust = new TrustStore(store, RULES);
    assert.equal(await trust.claimAutonomy(A, 'd1', 1), true);
    assert.equal(await trust.claimAutonomy(A, 'd1', 2), false, 'another replica: already written');
    assert.equal(await trust.claimAutonomy(A, 'd2', 3), true);
    await trust.releaseAutonomy(A, 'd2');
    assert.equal(await trust.claimAutonomy(A, 'd2', 4), true);
  },
});
