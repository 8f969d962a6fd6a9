/**
 * The token pool's rules with a scripted STS and revocation view: fail closed on stale status data, drop a
 * revoked warrant, never hand out one about to expire, single flight per key (also when the exchange fails).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../core/jose/base64url.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';
import type { RevocationState, RevocationStatus } from '../verify/revocation-view.ts';
import { AgentClient, type ExchangeRequest, type TokenResult } from './agent-client.ts';
import { TokenPool, TokenPoolError } from './token-pool.ts';

const now = () => Math.floor(Date.now() / 1000);

/** An STS stand-in: each exchange answers a new (unsigned: the pool only reads claims) warrant. */
class ScriptedClient extends AgentClient {
  calls = 0;
  lifetime = 300;
  fail: Error | undefined;
  constructor() {
    super({ issuer: 'http://sts.invalid', agentId: 'spiffe://t/agent/a', key: generateSigningKey() });
  }
  override async exchange(request: ExchangeRequest): Promise<TokenResult> {
    this.calls += 1;
    await new Promise((r) => setTimeout(r, 5));
    if (this.fail) throw this.fail;
    const claims = {
      aud: request.audience,
      iat: now(),
      exp: now() + this.lifetime,
      jti: String(this.calls),
      status: { idx: this.calls, uri: 'http://sts.invalid/status/1' },
    };
    const token = `${encode('{"alg":"EdDSA"}')}.${encode(JSON.stringify(claims))}.c2ln`;
    return { access_token: token, token_type: 'DPoP', expires_in: this.lifetime };
  }
}

class ScriptedStatus implements RevocationStatus {
  state: RevocationState = 'valid';
  revoked = new Set<string>();
  ensured = 0;
  has(): boolean {
    return true;
  }
  async ensure(): Promise<void> {
    this.ensured += 1;
  }
  check(hash: string): RevocationState {
    return this.revoked.has(hash) ? 'revoked' : this.state;
  }
}

const hop = { audience: 'https://tools.test/a' };

describe('TokenPool', () => {
  test('single flight: concurrent gets share one exchange, and share its failure', async () => {
    const client = new ScriptedClient();
    const pool = new TokenPool({ client, subject: { token: 's' }, backgroundRefresh: false });
    client.fail = new Error('sts down');
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => pool.get(hop)));
    assert.equal(client.calls, 1);
    assert.ok(results.every((r) => r.status === 'rejected'));
    client.fail = undefined;
    const ok = await Promise.all(Array.from({ length: 50 }, () => pool.get(hop)));
    assert.equal(client.calls, 2, 'a failure is not cached: the next get exchanges again, once');
    assert.equal(new Set(ok.map((w) => w.token)).size, 1);
  });

  test('stale status data that cannot be refreshed: fails closed and hands out nothing', async () => {
    const client = new ScriptedClient();
    const status = new ScriptedStatus();
    const pool = new TokenPool({
      client,
      subject: { token: 's' },
      revocation: status,
      backgroundRefresh: false,
    });
    await pool.get(hop);
    status.state = 'stale';
    await assert.rejects(pool.get(hop), (e: unknown) => {
      assert.ok(e instanceof TokenPoolError);
      assert.equal(e.code, 'WARRANT_STATUS_STALE');
      return true;
    });
    assert.equal(status.ensured, 1, 'it tried to refresh the status list first');
  });

  test('a revoked warrant is dropped and replaced', async () => {
    const client = new ScriptedClient();
    const status = new ScriptedStatus();
    const pool = new TokenPool({
      client,
      subject: { token: 's' },
      revocation: status,
      backgroundRefresh: false,
    });
    const first = await pool.get(hop);
    status.revoked.add(first.hash);
    const second = await pool.get(hop);
    assert.notEqual(second.token, first.token);
    assert.equal(client.calls, 2);
  });

  test('a warrant shorter than minRemainingSeconds is never handed out', async () => {
    const client = new ScriptedClient();
    client.lifetime = 5;
    const pool = new TokenPool({
      client,
      subject: { token: 's' },
      minRemainingSeconds: 10,
      backgroundRefresh: false,
    });
    await assert.rejects(
      pool.get(hop),
      (e: unknown) => e instanceof TokenPoolError && e.code === 'WARRANT_TOKEN_EXPIRED',
    );
  });

  test('the subject is asked for at each exchange (it may be renewed too)', async () => {
    const client = new ScriptedClient();
    let asked = 0;
    const pool = new TokenPool({
      client,
      subject: () => {
        asked += 1;
        return { token: `s${asked}` };
      },
      backgroundRefresh: false,
    });
    await pool.get(hop);
    await pool.get({ audience: 'https://tools.test/b' });
    assert.equal(asked, 2);
  });
});
