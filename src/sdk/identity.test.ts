/** The identity token is kept, renewed inside its renewal window, and fetched once however many ask. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { AgentClient, type TokenResult } from './agent-client.ts';
import { AgentIdentity } from './identity.ts';

class ScriptedClient extends AgentClient {
  calls = 0;
  constructor() {
    super({ issuer: 'http://sts.invalid', agentId: 'spiffe://t/agent/a', key: generateSigningKey() });
  }
  override async identity(): Promise<TokenResult> {
    this.calls += 1;
    await new Promise((r) => setTimeout(r, 5));
    return { access_token: `id-${this.calls}`, token_type: 'DPoP', expires_in: 300 };
  }
}

test('renews 60 s before expiry, single flight', async () => {
  let clock = 1_000_000;
  const client = new ScriptedClient();
  const identity = new AgentIdentity(client, { now: () => clock });
  const first = await Promise.all(Array.from({ length: 20 }, () => identity.token()));
  assert.equal(client.calls, 1);
  assert.ok(first.every((t) => t.token === 'id-1' && t.expiresAt === 1_000_300));
  clock += 239;
  assert.equal((await identity.token()).token, 'id-1', 'outside the window: kept');
  clock += 1;
  assert.equal((await identity.token()).token, 'id-2', 'inside the window: renewed');
  assert.equal(client.calls, 2);
});

test('a short-lived token is renewed at half its lifetime at the latest', async () => {
  let clock = 0;
  const client = new (class extends ScriptedClient {
    override async identity(): Promise<TokenResult> {
      this.calls += 1;
      return { access_token: `id-${this.calls}`, token_type: 'DPoP', expires_in: 60 };
    }
  })();
  const identity = new AgentIdentity(client, { now: () => clock });
  await identity.token();
  clock = 29;
  assert.equal((await identity.token()).token, 'id-1');
  clock = 30;
  assert.equal((await identity.token()).token, 'id-2');
});
