/**
 * The pins store's contract, on SQLite and PostgreSQL: first sight under approve and tofu, quarantine with
 * drift, approval only of the definition shown now, revocation, the re-check mark, a lost race between two
 * gateways, and every change in the guard's change history.
 */
import assert from 'node:assert/strict';
import { WarrantError } from '../../core/errors.ts';
import { guardStoreContract } from '../store/contract.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { definitionDigest, mcpToolDefinition } from './digest.ts';
import type { SeenDefinition } from './observe-definitions.ts';
import { ToolPins } from './tool-pins.ts';

const ROUTE = '/mcp';

function seen(name: string, description: string): SeenDefinition {
  const definition = mcpToolDefinition({ name, description, inputSchema: { type: 'object' } });
  return { tool: name, definition, digest: definitionDigest(definition) };
}

const observe = (pins: ToolPins, mode: 'approve' | 'tofu', list: SeenDefinition[], now = 100) =>
  pins.observe({ route: ROUTE, mode, seen: list, actor: 'gateway:g1', now });

const op = (tool: string, now = 200) => ({ route: ROUTE, tool, actor: 'admin', reason: 'reviewed', now });

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof WarrantError && e.code === code);
}

const newPins = (store: GuardStore) =>
  new ToolPins(store, [{ key: ROUTE, protocol: 'mcp', mode: 'approve' }]);

guardStoreContract('tool pins', {
  'approve: first sight is pending and hidden; approval of the shown digest makes it visible and callable':
    async (store) => {
      const pins = newPins(store);
      const search = seen('search', 'Search');
      assert.deepEqual([...(await observe(pins, 'approve', [search, seen('lookup', 'Look')]))], []);
      assert.deepEqual(
        (await pins.list(ROUTE)).map((p) => [p.tool, p.status, p.digest]),
        [
          ['lookup', 'pending', undefined],
          ['search', 'pending', undefined],
        ],
      );
      assert.equal((await pins.callable(ROUTE, 'approve', 'search')).ok, false);
      // Seeing the same again changes nothing (no second history entry).
      await observe(pins, 'approve', [search]);
      assert.equal((await store.changes.of('tool', '/mcp search')).length, 1);

      const approved = await pins.approve({ ...op('search'), digest: search.digest });
      assert.equal(approved.status, 'approved');
      assert.equal(approved.digest, search.digest);
      assert.deepEqual(approved.definition, search.definition);
      assert.deepEqual([...(await observe(pins, 'approve', [search]))], ['search']);
      assert.deepEqual(await pins.callable(ROUTE, 'approve', 'search'), { ok: true });
      const history = await store.changes.of('tool', '/mcp search');
      assert.deepEqual(
        history.map((c) => [c.actor, c.detail['status']]),
        [
          ['admin', 'approved'],
          ['gateway:g1', 'pending'],
        ],
      );
    },
  'tofu: first sight is pinned; a change is quarantined with its drift, listed once however often seen':
    async (store) => {
      const pins = newPins(store);
      const first = seen('search', 'Search');
      assert.deepEqual([...(await observe(pins, 'tofu', [first]))], ['search']);
      const changed = seen('search', 'Search and exfiltrate');
      assert.deepEqual([...(await observe(pins, 'tofu', [changed], 150))], []);
      await observe(pins, 'tofu', [changed], 160);
      const pin = await pins.pin(ROUTE, 'search');
      assert.equal(pin?.status, 'quarantined');
      assert.equal(pin?.digest, first.digest);
      assert.equal(pin?.seenDigest, changed.digest);
      const refused = await pins.callable(ROUTE, 'tofu', 'search');
      assert.ok(!refused.ok && refused.quarantined);
      assert.deepEqual(await pins.drift(ROUTE), [
        {
          route: ROUTE,
          tool: 'search',
          oldDigest: first.digest,
          newDigest: changed.digest,
          changed: ['description'],
          firstSeen: 150,
          lastSeen: 150,
        },
      ]);
      // A third definition while quarantined: a second drift from the approved one.
      const third = seen('search', 'Search, v3');
      await observe(pins, 'tofu', [third], 170);
      assert.deepEqual(
        (await pins.drift(ROUTE, 'search')).map((d) => d.newDigest),
        [third.digest, changed.digest],
      );
      // Approving the previous (no longer shown) definition is refused; the one shown now is accepted.
      await rejectsWith(
        pins.approve({ ...op('search'), digest: changed.digest }),
        'WARRANT_TOOL_DIGEST_MISMATCH',
      );
      await pins.approve({ ...op('search'), digest: third.digest });
      assert.deepEqual([...(await observe(pins, 'tofu', [third]))], ['search']);
    },
  'revoke makes a tool pending, also under tofu; unknown tools are refused': async (store) => {
    const pins = newPins(store);
    const search = seen('search', 'Search');
    await observe(pins, 'tofu', [search]);
    const revoked = await pins.revoke(op('search'));
    assert.equal(revoked.status, 'pending');
    assert.equal(revoked.digest, undefined);
    assert.deepEqual([...(await observe(pins, 'tofu', [search]))], [], 'tofu trusts first sight only');
    assert.equal((await pins.callable(ROUTE, 'tofu', 'search')).ok, false);
    await rejectsWith(pins.revoke(op('nope')), 'WARRANT_TOOL_UNKNOWN');
    await rejectsWith(pins.approve({ ...op('nope'), digest: search.digest }), 'WARRANT_TOOL_UNKNOWN');
    assert.equal(await pins.knows(ROUTE), true);
    assert.equal(await pins.knows('/other'), false);
  },
  'a name listed twice is shown under neither definition': async (store) => {
    const pins = newPins(store);
    const visible = await observe(pins, 'tofu', [
      seen('search', 'a'),
      seen('search', 'b'),
      seen('lookup', 'c'),
    ]);
    assert.deepEqual([...visible], ['lookup']);
    assert.equal(await pins.pin(ROUTE, 'search'), undefined);
  },
  'list_changed marks the route once until the next comparison clears it': async (store) => {
    const pins = newPins(store);
    const search = seen('search', 'Search');
    await observe(pins, 'tofu', [search]);
    assert.equal(await pins.announce({ route: ROUTE, actor: 'gateway:g1', now: 120 }), true);
    assert.equal(await pins.announce({ route: ROUTE, actor: 'gateway:g1', now: 121 }), false);
    assert.equal((await pins.pin(ROUTE, 'search'))?.recheck, true);
    assert.equal((await store.changes.of('tool', ROUTE)).length, 1);
    await observe(pins, 'tofu', [search]);
    assert.equal((await pins.pin(ROUTE, 'search'))?.recheck, false);
  },
  'two gateways seeing different first definitions at once: one pin, and only its definition is shown':
    async (store) => {
      const pins = newPins(store);
      const a = seen('search', 'from gateway a');
      const b = seen('search', 'from gateway b');
      const [va, vb] = await Promise.all([observe(pins, 'tofu', [a]), observe(pins, 'tofu', [b])]);
      const pin = await pins.pin(ROUTE, 'search');
      const winner = pin?.digest === a.digest ? va : vb;
      const loser = pin?.digest === a.digest ? vb : va;
      assert.deepEqual([...winner], ['search']);
      // The loser either lost the insert or (read after it) saw another definition approved: never shown.
      assert.equal(loser.has('search'), false);
      assert.equal(
        (await store.changes.of('tool', '/mcp search')).filter((c) => c.reason.startsWith('first seen'))
          .length,
        1,
      );
    },
});
