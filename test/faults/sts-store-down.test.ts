/**
 * The STS store on PostgreSQL going down under concurrent exchanges: the token records and the exchange
 * reads of one event-loop turn share one statement (src/sql/turn-batch.ts), so a failed batch must fail
 * every call in it — none resolved as if recorded, none half-written — and the store must serve again once
 * PostgreSQL is back. The PostgreSQL here is the test's own (test/support/own-postgres.ts), stopped by it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../../src/store/open-store.ts';
import type { IssuedToken, Store } from '../../src/store/ports.ts';
import { issuedToken } from '../support/issued-token.ts';
import { OwnPostgres } from '../support/own-postgres.ts';

const AGENT = 'spiffe://example.org/agent/a';

function token(hash: string, parentHash: string | null = null): IssuedToken {
  return issuedToken(hash, {
    parentHash,
    rootHash: parentHash,
    actors: [AGENT],
    audience: 'https://tool.example',
  });
}

test('PostgreSQL down: every batched record and read of the turn fails, nothing is half-written, and it serves again', async () => {
  const pg = await OwnPostgres.start();
  let store: Store | undefined;
  try {
    store = await openStore({ kind: 'postgres', url: pg.url, poolSize: 4 });
    const s = store;
    await s.tokens.record(token('root'));
    const reads = s.exchangeReads!;

    pg.stop();
    const tokens = Array.from({ length: 8 }, (_, i) => token(`child-${i}`, 'root'));
    const recorded = await Promise.allSettled(tokens.map((t) => s.tokens.record(t)));
    const read = await Promise.allSettled(tokens.map(() => reads(AGENT, 'root')));
    for (const result of [...recorded, ...read]) {
      assert.equal(result.status, 'rejected');
      const reason = (result as PromiseRejectedResult).reason as { code?: unknown };
      assert.notEqual(reason.code, 'WARRANT_STORE_CONFLICT', 'an outage is not a conflict');
    }

    pg.restart();
    // The pool's connections died with the server: wait until a read answers again.
    for (let attempt = 0; ; attempt++) {
      try {
        await s.tokens.get('root');
        break;
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    // The same tokens record now, each once, in one turn: the failed batch wrote none of them.
    const stored = await Promise.all(tokens.map((t) => s.tokens.record(t)));
    assert.deepEqual(stored, tokens);
    assert.equal((await s.tokens.children('root')).length, 8);
    assert.deepEqual(
      await Promise.all(tokens.map(() => reads(AGENT, 'root'))),
      tokens.map(() => ({ agent: null, revoked: false })),
    );
  } finally {
    await store?.close().catch(() => {});
    pg.destroy();
  }
});
