import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { issuedToken } from '../../test/support/issued-token.ts';
import type { Clock, IssuedToken, IssuerRecord, NewAgent, Store, StoredSigningKey } from './ports.ts';

/**
 * The STS store contract (DESIGN §1, STYLE habit 7): one suite, run unchanged against every adapter.
 * `open` returns a fresh, empty store reading time from the given clock; `close` disposes of it (and of
 * whatever the harness created for it). Each test gets its own store.
 */
export function storeContract(
  name: string,
  open: (clock: Clock) => Promise<Store>,
  close: (store: Store) => Promise<void>,
): void {
  describe(`Store contract: ${name}`, () => {
    const T0 = 1_750_000_000;
    let now = T0;
    let store: Store;

    beforeEach(async () => {
      now = T0;
      store = await open(() => now);
    });
    afterEach(async () => {
      await close(store);
    });

    const conflict = { code: 'WARRANT_STORE_CONFLICT', name: 'StoreConflictError' };
    const notFound = { code: 'WARRANT_STORE_NOT_FOUND', name: 'StoreNotFoundError' };

    test('exchangeReads, where a store has it, answers exactly what agents.get and tokens.isRevoked answer', async () => {
      const reads = store.exchangeReads;
      if (reads === undefined) {
        assert.equal(store.kind, 'sqlite', 'PostgreSQL answers both reads in one round trip');
        return;
      }
      await store.agents.create(agent('planner'));
      await store.agents.create(agent('off'));
      await store.agents.setStatus(agentId('off'), 'disabled');
      await store.tokens.record(token('live'));
      await store.tokens.record(token('gone'));
      await store.tokens.revoke({ hash: 'gone' }, 'test', T0);
      for (const id of [agentId('planner'), agentId('off'), agentId('nobody')])
        for (const hash of ['live', 'gone', 'unknown']) {
          const both = await reads(id, hash);
          assert.deepEqual(both.agent, await store.agents.get(id), `${id}`);
          assert.equal(both.revoked, await store.tokens.isRevoked(hash), hash);
        }
      await assert.rejects(reads('', 'live'), TypeError);
      // Asked together (one turn: PostgreSQL reads them in one statement), each answers its own pair.
      const pairs = [agentId('planner'), agentId('off'), agentId('nobody')].flatMap((id) =>
        ['live', 'gone', 'unknown', 'live'].map((hash) => [id, hash] as const),
      );
      const together = await Promise.all(pairs.map(([id, hash]) => reads(id, hash)));
      for (const [i, [id, hash]] of pairs.entries()) assert.deepEqual(together[i], await reads(id, hash));
    });

    // ─── agents ────────────────────────────────────────────────────────────────────────────────────

    test('an agent round-trips every field, with store-set times, status and no previous keys', async () => {
      const input = agent('planner', {
        allowedAudiences: ['spiffe://example.org/agent/b', 'https://tool.example/ü'],
      });
      const created = await store.agents.create(input);
      const expected = { ...input, status: 'active', previousKeys: [], createdAt: T0, updatedAt: T0 };
      assert.deepEqual(created, expected);
      assert.deepEqual(await store.agents.get(input.id), expected);
      assert.deepEqual(await store.agents.getByKeyThumbprint(input.jkt), expected);
      const empty = await store.agents.create(
        agent('empty', { allowedAudiences: [], trustLevel: 0, maxDepth: 0 }),
      );
      assert.deepEqual(await store.agents.get(empty.id), empty);
      assert.equal(await store.agents.get('spiffe://example.org/agent/nobody'), null);
      assert.equal(await store.agents.getByKeyThumbprint('unknown-jkt'), null);
    });

    test('creating an agent with a known id is a conflict and stores nothing', async () => {
      await store.agents.create(agent('a'));
      const again = agent('a', { jkt: 'jkt-other', name: 'other' });
      await assert.rejects(store.agents.create(again), conflict);
      assert.equal((await store.agents.get(again.id))!.name, 'agent a');
      assert.equal(await store.agents.getByKeyThumbprint('jkt-other'), null);
    });

    test('creating an agent with a key thumbprint already registered is a conflict', async () => {
      await store.agents.create(agent('a'));
      await assert.rejects(store.agents.create(agent('b', { jkt: 'jkt-a' })), conflict);
      assert.equal(await store.agents.get(agentId('b')), null);
    });

    test("an agent's client ids round-trip, default to none, and find it by (issuer, client id)", async () => {
      const idp = 'https://accounts.example';
      const planner = await store.agents.create(
        agent('planner', { clientIds: { [idp]: 'planner-app', 'https://login.other.example/v2': 'p-1' } }),
      );
      assert.deepEqual(planner.clientIds, { [idp]: 'planner-app', 'https://login.other.example/v2': 'p-1' });
      assert.deepEqual(await store.agents.get(planner.id), planner);
      assert.deepEqual(await store.agents.getByClientId(idp, 'planner-app'), planner);
      assert.deepEqual(await store.agents.getByClientId('https://login.other.example/v2', 'p-1'), planner);
      // The pair, not the client id alone: the same client id at another issuer is someone else's.
      assert.equal(await store.agents.getByClientId('https://login.other.example/v2', 'planner-app'), null);
      assert.equal(await store.agents.getByClientId(idp, 'nobody'), null);
      const { clientIds: _none, ...withoutClientIds } = agent('bare');
      assert.deepEqual((await store.agents.create(withoutClientIds)).clientIds, {});
    });

    test('an (issuer, client id) pair belongs to one agent: create and update conflicts store nothing', async () => {
      const idp = 'https://accounts.example';
      const a = await store.agents.create(agent('a', { clientIds: { [idp]: 'shared' } }));
      await assert.rejects(store.agents.create(agent('b', { clientIds: { [idp]: 'shared' } })), conflict);
      assert.equal(await store.agents.get(agentId('b')), null);
      assert.equal(await store.agents.getByKeyThumbprint('jkt-b'), null);
      // The same client id at another issuer is a different pair.
      const c = await store.agents.create(agent('c', { clientIds: { 'https://other.example': 'shared' } }));
      await assert.rejects(
        store.agents.update(c.id, { clientIds: { [idp]: 'shared' }, tier: 'x' }),
        conflict,
      );
      assert.deepEqual(await store.agents.get(c.id), c, 'a refused update changes nothing');
      assert.equal((await store.agents.getByClientId(idp, 'shared'))?.id, a.id);
      assert.equal((await store.agents.getByClientId('https://other.example', 'shared'))?.id, c.id);
    });

    test('update replaces the client ids whole: old pairs are released, new ones found', async () => {
      const idp = 'https://accounts.example';
      const a = await store.agents.create(agent('a', { clientIds: { [idp]: 'old-app' } }));
      now = T0 + 7;
      const updated = await store.agents.update(a.id, { clientIds: { [idp]: 'new-app' } });
      assert.deepEqual(updated, { ...a, clientIds: { [idp]: 'new-app' }, updatedAt: T0 + 7 });
      assert.equal(await store.agents.getByClientId(idp, 'old-app'), null);
      assert.deepEqual(await store.agents.getByClientId(idp, 'new-app'), updated);
      // The released pair is free for another agent; other metadata updates leave client ids alone.
      const b = await store.agents.create(agent('b', { clientIds: { [idp]: 'old-app' } }));
      assert.equal((await store.agents.update(b.id, { trustLevel: 1 })).clientIds[idp], 'old-app');
      assert.deepEqual((await store.agents.update(a.id, { clientIds: {} })).clientIds, {});
      assert.equal(await store.agents.getByClientId(idp, 'new-app'), null);
    });

    test('agents list by id in keyset pages, optionally by status', async () => {
      for (const n of ['g', 'c', 'a', 'e', 'b', 'f', 'd']) {
        await store.agents.create(agent(n, { status: 'bcf'.includes(n) ? 'disabled' : 'active' }));
      }
      const ids = async (query: Parameters<Store['agents']['list']>[0]) => {
        const page = await store.agents.list(query);
        return { ids: page.items.map((a) => a.id.slice(-1)), next: page.next };
      };
      const p1 = await ids({ limit: 3 });
      assert.deepEqual(p1, { ids: ['a', 'b', 'c'], next: agentId('c') });
      const p2 = await ids({ limit: 3, after: p1.next! });
      assert.deepEqual(p2, { ids: ['d', 'e', 'f'], next: agentId('f') });
      assert.deepEqual(await ids({ limit: 3, after: p2.next! }), { ids: ['g'], next: null });
      assert.deepEqual(await ids({ limit: 7 }), { ids: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], next: null });
      const d1 = await ids({ status: 'disabled', limit: 2 });
      assert.deepEqual(d1, { ids: ['b', 'c'], next: agentId('c') });
      assert.deepEqual(await ids({ status: 'disabled', limit: 2, after: d1.next! }), {
        ids: ['f'],
        next: null,
      });
      assert.deepEqual(await ids({ status: 'active', limit: 10 }), { ids: ['a', 'd', 'e', 'g'], next: null });
    });

    test('setStatus changes the status and updatedAt; an unknown agent is not found', async () => {
      const a = await store.agents.create(agent('a'));
      now = T0 + 10;
      const disabled = await store.agents.setStatus(a.id, 'disabled');
      assert.deepEqual(disabled, { ...a, status: 'disabled', updatedAt: T0 + 10 });
      assert.deepEqual(await store.agents.get(a.id), disabled);
      assert.equal((await store.agents.setStatus(a.id, 'active')).status, 'active');
      await assert.rejects(store.agents.setStatus(agentId('nobody'), 'disabled'), notFound);
    });

    test('update changes only the metadata given; an unknown agent is not found', async () => {
      const a = await store.agents.create(agent('a'));
      now = T0 + 5;
      const updated = await store.agents.update(a.id, {
        trustLevel: 3,
        allowedAudiences: ['x', 'y'],
        tier: 'executor',
      });
      assert.deepEqual(updated, {
        ...a,
        trustLevel: 3,
        allowedAudiences: ['x', 'y'],
        tier: 'executor',
        updatedAt: T0 + 5,
      });
      const renamed = await store.agents.update(a.id, { name: '', owner: 'bob', maxDepth: 0, trustLevel: 0 });
      assert.deepEqual(renamed, { ...updated, name: '', owner: 'bob', maxDepth: 0, trustLevel: 0 });
      assert.deepEqual(await store.agents.get(a.id), renamed);
      await assert.rejects(store.agents.update(agentId('nobody'), { name: 'x' }), notFound);
      await assert.rejects(store.agents.update(a.id, { jkt: 'x' } as never), TypeError);
    });

    test('a rotated-away key still finds its agent until the overlap ends, then no longer', async () => {
      const a = await store.agents.create(agent('a'));
      now = T0 + 100;
      const rotated = await store.agents.rotateKey(a.id, { kty: 'OKP', x: 'new' }, 'jkt-a2', T0 + 400);
      assert.deepEqual(rotated, {
        ...a,
        publicJwk: { kty: 'OKP', x: 'new' },
        jkt: 'jkt-a2',
        previousKeys: [{ jwk: a.publicJwk, jkt: a.jkt, until: T0 + 400 }],
        updatedAt: T0 + 100,
      });
      assert.deepEqual(await store.agents.get(a.id), rotated);
      assert.deepEqual(await store.agents.getByKeyThumbprint('jkt-a2'), rotated);
      assert.deepEqual(await store.agents.getByKeyThumbprint('jkt-a'), rotated);
      now = T0 + 399;
      assert.equal((await store.agents.getByKeyThumbprint('jkt-a'))?.id, a.id);
      now = T0 + 400;
      assert.equal(await store.agents.getByKeyThumbprint('jkt-a'), null);
      assert.equal((await store.agents.getByKeyThumbprint('jkt-a2'))?.id, a.id);
      // The next rotation prunes the expired key and keeps the one still in overlap.
      const again = await store.agents.rotateKey(a.id, { kty: 'OKP', x: 'newer' }, 'jkt-a3', T0 + 900);
      assert.deepEqual(again.previousKeys, [
        { jwk: { kty: 'OKP', x: 'new' }, jkt: 'jkt-a2', until: T0 + 900 },
      ]);
    });

    test('rotating to a thumbprint in use is a conflict; rotating an unknown agent is not found', async () => {
      const a = await store.agents.create(agent('a'));
      await store.agents.create(agent('b'));
      await assert.rejects(store.agents.rotateKey(a.id, { kty: 'OKP' }, 'jkt-b', T0 + 60), conflict);
      await assert.rejects(store.agents.rotateKey(a.id, { kty: 'OKP' }, 'jkt-a', T0 + 60), conflict);
      assert.deepEqual(await store.agents.get(a.id), a);
      await assert.rejects(
        store.agents.rotateKey(agentId('nobody'), { kty: 'OKP' }, 'jkt-z', T0 + 60),
        notFound,
      );
    });

    test('concurrent writes succeed or fail independently', async () => {
      await store.agents.create(agent('taken'));
      const results = await Promise.allSettled([
        store.agents.create(agent('w1')),
        store.agents.create(agent('taken', { jkt: 'jkt-fresh' })),
        store.agents.create(agent('w2', { jkt: 'jkt-taken' })),
        store.agents.create(agent('w3')),
        store.tokens.record(token('w-token')),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.equal((await store.agents.list({ limit: 10 })).items.length, 3);
      assert.equal(await store.agents.getByKeyThumbprint('jkt-fresh'), null);
      assert.notEqual(await store.tokens.get('w-token'), null);
    });

    // ─── tokens ────────────────────────────────────────────────────────────────────────────────────

    test('an issued token round-trips every field exactly, by hash and by jti', async () => {
      const full = token('h-full', {
        parentHash: 'h-parent',
        rootHash: 'h-root',
        actors: [
          'spiffe://example.org/agent/b',
          'spiffe://example.org/agent/a',
          'spiffe://example.org/agent/b',
        ],
        grantsJson: '[ {"action":"read", "resource":"db://x/ü", "constraints":{"max_rows":10}} ]',
        policyVersion: 'sha256:abc',
        statusList: 'list-1',
        statusIdx: 0,
      });
      const bare = token('h-bare', {
        kind: 'identity',
        txn: null,
        actors: [],
        grantsJson: null,
        policyVersion: null,
        statusList: null,
        statusIdx: null,
      });
      assert.deepEqual(await store.tokens.record(full), full);
      assert.deepEqual(await store.tokens.record(bare), bare);
      assert.deepEqual(await store.tokens.get('h-full'), full);
      assert.deepEqual(await store.tokens.getByJti(full.jti), full);
      assert.deepEqual(await store.tokens.get('h-bare'), bare);
      assert.equal(await store.tokens.get('h-none'), null);
      assert.equal(await store.tokens.getByJti('jti-none'), null);
    });

    test('recording a known hash or a known jti is a conflict', async () => {
      await store.tokens.record(token('h1'));
      await assert.rejects(store.tokens.record(token('h1', { jti: 'jti-other' })), conflict);
      await assert.rejects(store.tokens.record(token('h2', { jti: 'jti-h1' })), conflict);
      assert.equal(await store.tokens.get('h2'), null);
    });

    test('children and descendants of a three-level branching tree', async () => {
      await recordTree(store, 'txn-1');
      const hashes = (tokens: IssuedToken[]) => tokens.map((t) => t.hash).sort();
      assert.deepEqual(hashes(await store.tokens.children('root')), ['a', 'b']);
      assert.deepEqual(hashes(await store.tokens.children('a')), ['a1', 'a2']);
      assert.deepEqual(hashes(await store.tokens.descendants('root')), ['a', 'a1', 'a1x', 'a2', 'b', 'b1']);
      assert.deepEqual(hashes(await store.tokens.descendants('a')), ['a1', 'a1x', 'a2']);
      assert.deepEqual(await store.tokens.descendants('a1x'), []);
      assert.deepEqual(await store.tokens.descendants('unknown'), []);
      const [first] = await store.tokens.descendants('a1');
      assert.deepEqual(first, await store.tokens.get('a1x'));
    });

    test('listByTxn lists every token of the transaction by iat', async () => {
      await recordTree(store, 'txn-1');
      await store.tokens.record(token('other', { txn: 'txn-2' }));
      const listed = await store.tokens.listByTxn('txn-1');
      assert.deepEqual(
        listed.map((t) => t.hash),
        ['root', 'a', 'b', 'a1', 'a2', 'b1', 'a1x'],
      );
      assert.deepEqual(listed[0], await store.tokens.get('root'));
      assert.deepEqual(await store.tokens.listByTxn('txn-none'), []);
    });

    test('listLive lists the unrevoked, unexpired tokens by iat', async () => {
      await store.tokens.record(token('live-1', { exp: T0 + 1000 }));
      await store.tokens.record(token('expired', { exp: T0 }));
      await store.tokens.record(token('revoked', { exp: T0 + 1000 }));
      await store.tokens.record(token('live-2', { exp: T0 + 1 }));
      await store.tokens.revoke({ hash: 'revoked' }, 'x', T0);
      const live = await store.tokens.listLive(T0);
      assert.deepEqual(
        live.map((t) => t.hash),
        ['live-1', 'live-2'],
      );
      assert.deepEqual(live[0], await store.tokens.get('live-1'));
      assert.deepEqual(await store.tokens.listLive(T0 + 1000), []);
    });

    test('revoking by hash cascades to every descendant and returns only what it newly revoked', async () => {
      await recordTree(store, 'txn-1');
      const first = await store.tokens.revoke({ hash: 'a' }, 'compromised', T0 + 50);
      assert.deepEqual(first.map((r) => r.hash).sort(), ['a', 'a1', 'a1x', 'a2']);
      assert.equal(await store.tokens.isRevoked('b'), false);
      assert.equal(await store.tokens.isRevoked('root'), false);
      const second = await store.tokens.revoke({ hash: 'root' }, 'done', T0 + 60);
      assert.deepEqual(second.map((r) => r.hash).sort(), ['b', 'b1', 'root']);
      assert.deepEqual(await store.tokens.revoke({ hash: 'root' }, 'again', T0 + 70), []);
      const a1x = (await store.tokens.get('a1x'))!;
      assert.deepEqual([a1x.revokedAt, a1x.revokeReason], [T0 + 50, 'compromised']);
      const b1 = (await store.tokens.get('b1'))!;
      assert.deepEqual([b1.revokedAt, b1.revokeReason], [T0 + 60, 'done']);
      assert.equal(await store.tokens.isRevoked('a2'), true);
      assert.equal(await store.tokens.isRevoked('unknown'), null);
      assert.deepEqual(await store.tokens.revoke({ hash: 'unknown' }, 'x', T0), []);
    });

    test('revoking by txn revokes the whole transaction and nothing else', async () => {
      await recordTree(store, 'txn-1');
      await recordTree(store, 'txn-2', 'x-');
      const revoked = await store.tokens.revoke({ txn: 'txn-1' }, 'task complete', T0 + 1);
      assert.deepEqual(revoked.map((r) => r.hash).sort(), ['a', 'a1', 'a1x', 'a2', 'b', 'b1', 'root']);
      for (const t of await store.tokens.listByTxn('txn-2')) assert.equal(t.revokedAt, null);
    });

    test('revoking by agent revokes every token with the agent anywhere in its actor chain, and below', async () => {
      const [p, q, r] = ['p', 'q', 'r'].map(agentId);
      await store.tokens.record(token('t1', { actors: [p] }));
      await store.tokens.record(token('t2', { parentHash: 't1', rootHash: 't1', actors: [q, p] }));
      await store.tokens.record(token('t3', { parentHash: 't2', rootHash: 't1', actors: [r, q, p] }));
      await store.tokens.record(token('u1', { actors: [r], audience: q }));
      await store.tokens.record(token('u2', { parentHash: 'u1', rootHash: 'u1', actors: [q, r] }));
      await store.tokens.record(token('u3', { parentHash: 'u2', rootHash: 'u1', actors: [p, q, r] }));
      await store.tokens.record(token('v1', { actors: [r], audience: p }));
      const revoked = await store.tokens.revoke({ agentId: q }, 'agent disabled', T0 + 1);
      assert.deepEqual(revoked.map((x) => x.hash).sort(), ['t2', 't3', 'u2', 'u3']);
      assert.deepEqual(
        (await store.tokens.revoke({ agentId: p }, 'agent disabled', T0 + 2)).map((x) => x.hash).sort(),
        ['t1'],
      );
      assert.equal(await store.tokens.isRevoked('u1'), false);
      assert.equal(await store.tokens.isRevoked('v1'), false);
    });

    test('revoking by sub revokes every token of that person, and below', async () => {
      await store.tokens.record(token('alice-1', { sub: 'alice' }));
      await store.tokens.record(
        token('alice-2', { sub: 'alice', parentHash: 'alice-1', rootHash: 'alice-1' }),
      );
      await store.tokens.record(token('bob-1', { sub: 'bob' }));
      const revoked = await store.tokens.revoke({ sub: 'alice' }, 'offboarded', T0 + 1);
      assert.deepEqual(revoked.map((r) => r.hash).sort(), ['alice-1', 'alice-2']);
      assert.equal(await store.tokens.isRevoked('bob-1'), false);
    });

    test('revocation sets the status bit of every token it revokes, in the list it names', async () => {
      const slots = new Map<string, number>();
      const slotted = async (hash: string, list: string, extra: Partial<IssuedToken> = {}) => {
        const idx = await store.statusLists.allocate(list);
        slots.set(hash, idx);
        await store.tokens.record(token(hash, { statusList: list, statusIdx: idx, ...extra }));
      };
      await slotted('s0', 'L1');
      await slotted('s1', 'L1', { parentHash: 's0', rootHash: 's0' });
      await slotted('s2', 'L2', { parentHash: 's1', rootHash: 's0' });
      await slotted('s3', 'L1');
      await store.tokens.record(
        token('s4', { parentHash: 's2', rootHash: 's0', statusList: null, statusIdx: null }),
      );
      const before = (await store.statusLists.get('L1'))!;
      const revoked = await store.tokens.revoke({ hash: 's0' }, 'x', T0 + 1);
      assert.deepEqual(
        revoked.sort((a, b) => a.hash.localeCompare(b.hash)),
        [
          { hash: 's0', statusList: 'L1', statusIdx: 0 },
          { hash: 's1', statusList: 'L1', statusIdx: 1 },
          { hash: 's2', statusList: 'L2', statusIdx: 0 },
          { hash: 's4', statusList: null, statusIdx: null },
        ],
      );
      const l1 = (await store.statusLists.get('L1'))!;
      assert.deepEqual([...l1.bits], [0b011]);
      assert.equal(l1.size, 3);
      assert.ok(l1.version > before.version);
      assert.deepEqual([...(await store.statusLists.get('L2'))!.bits], [0b1]);
      assert.deepEqual(slots.get('s3'), 2);
    });

    test('a child recorded under a revoked parent is recorded revoked, with its status bit set', async () => {
      await store.tokens.record(token('p'));
      await store.tokens.revoke({ hash: 'p' }, 'gone', T0 + 5);
      const idx = await store.statusLists.allocate('L');
      const child = token('c', { parentHash: 'p', rootHash: 'p', statusList: 'L', statusIdx: idx });
      const stored = await store.tokens.record(child);
      assert.deepEqual(stored, { ...child, revokedAt: T0 + 5, revokeReason: 'gone' });
      assert.deepEqual(await store.tokens.get('c'), stored);
      assert.deepEqual([...(await store.statusLists.get('L'))!.bits], [0b1]);
    });

    test('tokens recorded together are each stored as if alone: inherited revocations, conflicts, actors', async () => {
      await store.tokens.record(token('tp'));
      await store.tokens.revoke({ hash: 'tp' }, 'parent gone', T0 + 7);
      await store.tokens.record(token('tq'));
      await store.tokens.record(token('taken'));
      const revokedList = await store.statusLists.allocate('LT');
      const inputs = [
        token('t-under-revoked', {
          parentHash: 'tp',
          rootHash: 'tp',
          statusList: 'LT',
          statusIdx: revokedList,
        }),
        token('t-under-live', { parentHash: 'tq', rootHash: 'tq' }),
        token('taken'),
        token('t-own-jti', { jti: 'jti-taken' }),
        token('t-actors', { actors: [agentId('b'), agentId('a'), agentId('b')] }),
        token('t-unknown-parent', { parentHash: 'nowhere', rootHash: 'nowhere' }),
        token('t-self-revoked', { revokedAt: T0 + 3, revokeReason: 'at birth' }),
      ];
      // One turn: PostgreSQL sends them as one statement, and any member failing makes it fall back.
      const results = await Promise.allSettled(inputs.map((t) => store.tokens.record(t)));
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
      );
      for (const i of [2, 3]) assert.equal((results[i] as PromiseRejectedResult).reason.code, conflict.code);
      const stored = results.map((r) => (r.status === 'fulfilled' ? r.value : null));
      assert.deepEqual(stored[0], { ...inputs[0], revokedAt: T0 + 7, revokeReason: 'parent gone' });
      for (const i of [1, 4, 5, 6]) assert.deepEqual(stored[i], inputs[i]);
      for (const i of [0, 1, 4, 5, 6]) assert.deepEqual(await store.tokens.get(inputs[i]!.hash), stored[i]);
      assert.equal(await store.tokens.get('t-own-jti'), null);
      assert.deepEqual([...(await store.statusLists.get('LT'))!.bits], [0b1]);
      // Actor rows: revocation by agent finds the token through any position, once.
      const byActor = await store.tokens.revoke({ agentId: agentId('a') }, 'actor', T0 + 9);
      assert.deepEqual(
        byActor.map((t) => t.hash),
        ['t-actors'],
      );
      // A batch of clean records (no member failing) stores every one as given.
      const clean = Array.from({ length: 12 }, (_, i) =>
        token(`t-clean-${i}`, { parentHash: 'tq', rootHash: 'tq' }),
      );
      assert.deepEqual(await Promise.all(clean.map((t) => store.tokens.record(t))), clean);
      assert.equal((await store.tokens.children('tq')).length, 13);
    });

    test('a revocation racing with children being recorded leaves no live descendant', async () => {
      await store.tokens.record(token('r'));
      await store.tokens.record(token('r1', { parentHash: 'r', rootHash: 'r' }));
      const children = Array.from({ length: 30 }, (_, i) =>
        store.tokens.record(token(`r1-${i}`, { parentHash: 'r1', rootHash: 'r' })),
      );
      const grandchildren = Array.from({ length: 10 }, (_, i) =>
        children[i]!.then(() =>
          store.tokens.record(token(`r1-${i}-x`, { parentHash: `r1-${i}`, rootHash: 'r' })),
        ),
      );
      const revoked = store.tokens.revoke({ hash: 'r' }, 'race', T0 + 1);
      await Promise.all([...children, ...grandchildren, revoked]);
      const all = await store.tokens.descendants('r');
      assert.equal(all.length, 41);
      for (const t of all) assert.equal(t.revokedAt, T0 + 1, `${t.hash} escaped the revocation`);
    });

    // ─── status lists ──────────────────────────────────────────────────────────────────────────────

    test('allocate hands out 0, 1, 2, … per list; an unknown list reads as null', async () => {
      assert.equal(await store.statusLists.get('L'), null);
      assert.deepEqual(
        [
          await store.statusLists.allocate('L'),
          await store.statusLists.allocate('L'),
          await store.statusLists.allocate('M'),
        ],
        [0, 1, 0],
      );
      assert.deepEqual(await store.statusLists.get('L'), { bits: new Uint8Array(1), size: 2, version: 0 });
    });

    test('50 concurrent allocations get 50 distinct indices', async () => {
      const indices = await Promise.all(Array.from({ length: 50 }, () => store.statusLists.allocate('C')));
      assert.deepEqual(
        indices.sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.equal((await store.statusLists.get('C'))!.size, 50);
    });

    test('allocate with a count reserves a block and resolves its first index', async () => {
      assert.equal(await store.statusLists.allocate('K', 100), 0);
      assert.equal(await store.statusLists.allocate('K'), 100);
      assert.equal(await store.statusLists.allocate('K', 5), 101);
      assert.equal((await store.statusLists.get('K'))!.size, 106);
      await assert.rejects(store.statusLists.allocate('K', 0), TypeError);
    });

    test('bits are LSB-first per byte, versioned on change, and set beyond the size grows it', async () => {
      for (let i = 0; i < 10; i++) await store.statusLists.allocate('B');
      await store.statusLists.set('B', [0, 9]);
      let list = (await store.statusLists.get('B'))!;
      assert.deepEqual(list, { bits: Uint8Array.from([0b0000_0001, 0b0000_0010]), size: 10, version: 1 });
      await store.statusLists.set('B', [0, 9]);
      assert.equal((await store.statusLists.get('B'))!.version, 1);
      await store.statusLists.set('B', [0], 0);
      list = (await store.statusLists.get('B'))!;
      assert.deepEqual([list.bits[0], list.version], [0, 2]);
      await store.statusLists.set('B', [20]);
      list = (await store.statusLists.get('B'))!;
      assert.deepEqual(list, { bits: Uint8Array.from([0, 0b10, 0b1_0000]), size: 21, version: 3 });
      assert.equal(await store.statusLists.allocate('B'), 21);
      await store.statusLists.set('new', [3]);
      assert.deepEqual(await store.statusLists.get('new'), {
        bits: Uint8Array.from([0b1000]),
        size: 4,
        version: 1,
      });
    });

    // ─── signing keys ──────────────────────────────────────────────────────────────────────────────

    test('signing keys round-trip, list by age, change state; duplicates conflict, unknown kids are not found', async () => {
      const k1: StoredSigningKey = {
        kid: 'kid-1',
        alg: 'EdDSA',
        material: '{"enc":"…"}',
        state: 'current',
        createdAt: T0,
        retireAt: null,
      };
      const k2: StoredSigningKey = { ...k1, kid: 'kid-0', alg: 'ES256', material: '', createdAt: T0 + 1 };
      await store.keys.save(k2);
      await store.keys.save(k1);
      assert.deepEqual(await store.keys.list(), [k1, k2]);
      await store.keys.setState('kid-1', 'previous', T0 + 3600);
      assert.deepEqual((await store.keys.list())[0], { ...k1, state: 'previous', retireAt: T0 + 3600 });
      await assert.rejects(store.keys.save({ ...k1, material: 'other' }), (error: Error) => {
        assert.equal((error as { code?: string }).code, 'WARRANT_STORE_CONFLICT');
        assert.ok(!error.message.includes('other') && !error.message.includes('enc'));
        return true;
      });
      await assert.rejects(store.keys.setState('kid-none', 'previous', null), notFound);
    });

    // ─── replay ────────────────────────────────────────────────────────────────────────────────────

    test('consume is true once, false on replay, per namespace, and true again after expiry', async () => {
      assert.equal(await store.replay.consume('assertion', 'j1', T0 + 60), true);
      assert.equal(await store.replay.consume('assertion', 'j1', T0 + 600), false);
      assert.equal(await store.replay.consume('dpop', 'j1', T0 + 60), true);
      now = T0 + 59;
      assert.equal(await store.replay.consume('assertion', 'j1', T0 + 120), false);
      now = T0 + 60;
      assert.equal(await store.replay.consume('assertion', 'j1', T0 + 120), true);
      assert.equal(await store.replay.consume('assertion', 'j1', T0 + 120), false);
      assert.equal(await store.replay.consume('assertion', 'j2', T0 + 60.2), true);
      now = T0 + 60.5;
      assert.equal(await store.replay.consume('assertion', 'j2', T0 + 120), false);
    });

    test('50 concurrent consumes of one id: exactly one is true', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.replay.consume('n', 'race', T0 + 60)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    // ─── issuers ───────────────────────────────────────────────────────────────────────────────────

    test('issuers are put, replaced, read, listed and deleted, with nulls and JSON intact', async () => {
      const k8s: IssuerRecord = {
        issuer: 'https://kubernetes.default.svc',
        kind: 'kubernetes',
        audience: 'warrant',
        jwksUri: null,
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: null }] },
        mapping: {
          claim: 'sub',
          pattern: '^system:serviceaccount:(.+)$',
          agent: 'spiffe://example.org/agent/$1',
        },
        assertions: null,
        maxAssertionAgeSeconds: null,
      };
      const oidc: IssuerRecord = {
        issuer: 'https://accounts.example',
        kind: 'oidc',
        audience: 'warrant',
        jwksUri: 'https://accounts.example/jwks',
        jwks: null,
        mapping: null,
        assertions: ['id_jag', 'id_token'],
        maxAssertionAgeSeconds: 600,
      };
      await store.issuers.put(k8s);
      await store.issuers.put(oidc);
      assert.deepEqual(await store.issuers.get(k8s.issuer), k8s);
      assert.deepEqual(await store.issuers.list(), [oidc, k8s]);
      const replaced = {
        ...oidc,
        kind: 'spiffe',
        jwksUri: null,
        jwks: { keys: [] },
        assertions: [],
        maxAssertionAgeSeconds: null,
      } satisfies IssuerRecord;
      await store.issuers.put(replaced);
      assert.deepEqual(await store.issuers.get(oidc.issuer), replaced);
      assert.equal(await store.issuers.delete(oidc.issuer), true);
      assert.equal(await store.issuers.delete(oidc.issuer), false);
      assert.equal(await store.issuers.get(oidc.issuer), null);
      assert.deepEqual(await store.issuers.list(), [k8s]);
    });

    // ─── caller mistakes ───────────────────────────────────────────────────────────────────────────

    test('invalid arguments are TypeErrors, raised before anything is stored', async () => {
      await assert.rejects(store.agents.create({ ...agent('a'), trustLevel: 1.5 }), TypeError);
      await assert.rejects(store.agents.create({ ...agent('a'), allowedAudiences: 'x' as never }), TypeError);
      await assert.rejects(store.agents.list({ limit: 0 }), TypeError);
      await assert.rejects(store.agents.list({ limit: 1001 }), TypeError);
      await assert.rejects(store.tokens.record({ ...token('t'), statusIdx: 3 }), TypeError);
      await assert.rejects(store.tokens.record({ ...token('t'), kind: 'other' as never }), TypeError);
      await assert.rejects(store.tokens.revoke({ hash: 'a', txn: 'b' } as never, 'r', T0), TypeError);
      await assert.rejects(store.tokens.revoke({ hash: '' }, 'r', T0), TypeError);
      await assert.rejects(store.statusLists.set('L', [-1]), TypeError);
      await assert.rejects(store.statusLists.set('L', [1], 2 as never), TypeError);
      await assert.rejects(store.replay.consume('n', 'j', Number.NaN), TypeError);
      await assert.rejects(store.issuers.put({ issuer: 'x', kind: 'saml' } as never), TypeError);
      await assert.rejects(
        store.agents.create({ ...agent('a'), clientIds: { 'https://idp': '' } }),
        TypeError,
      );
      await assert.rejects(store.agents.create({ ...agent('a'), clientIds: ['x'] as never }), TypeError);
      await assert.rejects(store.agents.getByClientId('', 'x'), TypeError);
      assert.equal(await store.agents.get(agentId('a')), null);
      assert.equal(await store.tokens.get('t'), null);
    });
  });
}

function agentId(name: string): string {
  return `spiffe://example.org/agent/${name}`;
}

function agent(name: string, overrides: Partial<NewAgent> = {}): NewAgent {
  return {
    id: agentId(name),
    name: `agent ${name}`,
    owner: 'alice@example.org',
    tier: 'planner',
    trustLevel: 2,
    allowedAudiences: [agentId('tool')],
    maxDepth: 4,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: `x-${name}`, alg: 'EdDSA' },
    jkt: `jkt-${name}`,
    clientIds: {},
    ...overrides,
  };
}

let iat = 1_750_000_000;

function token(hash: string, overrides: Partial<IssuedToken> = {}): IssuedToken {
  iat += 1;
  return issuedToken(hash, {
    txn: 'txn-default',
    actors: [agentId('planner')],
    audience: agentId('tool'),
    grantsJson: '[{"action":"read","resource":"*"}]',
    policyVersion: 'v1',
    iat,
    exp: iat + 300,
    ...overrides,
  });
}

/** root → a, b; a → a1, a2; b → b1; a1 → a1x (hashes prefixed for a second tree). */
async function recordTree(store: Store, txn: string, prefix = ''): Promise<void> {
  const h = (s: string) => prefix + s;
  const edges: [string, string | null][] = [
    ['root', null],
    ['a', 'root'],
    ['b', 'root'],
    ['a1', 'a'],
    ['a2', 'a'],
    ['b1', 'b'],
    ['a1x', 'a1'],
  ];
  for (const [child, parent] of edges) {
    await store.tokens.record(
      token(h(child), {
        txn,
        parentHash: parent === null ? null : h(parent),
        rootHash: parent === null ? null : h('root'),
      }),
    );
  }
}
